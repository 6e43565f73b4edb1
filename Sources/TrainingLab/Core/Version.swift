public enum TrainingLabVersion { public static let string = "0.2.0" }
