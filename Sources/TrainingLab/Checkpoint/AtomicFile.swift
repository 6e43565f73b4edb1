#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file could not be written; says which file, what step failed and the system's reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Writes whole files so that a reader (or a run resumed after a crash) sees either the old content or
/// the new one, never a mix: the data goes to a temporary file in the same folder, is flushed to the
/// disk (fsync), then renamed over the target (atomic within one file system), and the folder entry is
/// flushed too. Every report and checkpoint writer goes through it. The folder must exist.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        guard url.isFileURL else { throw FileWriteError(path: url.absoluteString, "not a file URL") }
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/" else { throw FileWriteError(path: path, "no file name") }

        // A hidden, unique sibling: same folder so the rename stays within one file system.
        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            temporary = "\(directory)/.\(name).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw FileWriteError(path: path, "cannot create a temporary file in \(directory): \(systemError())") }

        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            try writeAll(fd: fd, data: data, path: path)
            guard fsync(fd) == 0 else { throw FileWriteError(path: path, "fsync failed: \(systemError())") }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw FileWriteError(path: path, "close failed: \(systemError())") }
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, "cannot rename the temporary file over it: \(systemError())") }
        renamed = true
        // The rename is durable only once the folder itself is flushed; some file systems refuse to
        // fsync a folder, which does not make the write less complete, so that is not an error.
        let dirFd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFd >= 0 {
            _ = fsync(dirFd)
            close(dirFd)
        }
    }

    /// Writes `text` as UTF-8.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    private static func writeAll(fd: Int32, data: Data, path: String) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileWriteError(path: path, "write failed after \(offset) of \(raw.count) bytes: \(systemError())")
                }
                offset += n
            }
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

/// write(2), named apart from AtomicFile.write.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
