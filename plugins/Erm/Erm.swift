public struct Erm {}
