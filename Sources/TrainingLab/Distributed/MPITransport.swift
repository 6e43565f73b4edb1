import CTrainingLab
import Foundation

/// This process's place in an MPI job (`mpirun -np P tlab run … --set backend=mpi`), over the transport library
/// libTrainingLabMPI.so (include/tl_mpi.h). The library is opened with dlopen the first time a run asks for
/// backend=mpi, so libTrainingLab.so never links MPI: the file TRAININGLAB_MPI_LIBRARY names if it is set, else
/// the one in the folder of libTrainingLab.so (where `swift build` puts it), else the dynamic loader's search path.
///
/// Every wait is bounded by `timeout` (TRAININGLAB_MPI_TIMEOUT seconds, default 60): OpenMPI 4.1 reports nothing
/// about a rank that died, so silence is the only sign of a lost peer. Unless --threads or OMP_NUM_THREADS chose
/// another count, each rank runs max(1, CPUs / ranks on this node) OpenMP threads, so ranks do not oversubscribe
/// the cores.
final class MPITransport {
    /// Message tags: one per kind of message, so a receive can never take one kind for another.
    enum Tag: Int32 {
        /// rank 0 -> training rank: a round's broadcast and the rank's client tasks; the end of the run.
        case round = 1, stop
        /// training rank -> rank 0: one client's outcome; a sign of life while it trains.
        case outcome, heartbeat
        /// replica -> rank 0: its part of a data-parallel sum; rank 0 -> replica: the sum.
        case replicaPart, replicaSum
    }

    struct Message {
        let source: Int
        let tag: Tag
        let bytes: Data
    }

    /// A send that did not complete (`timedOut`: within the time limit) or an MPI error.
    struct Failure: Error, CustomStringConvertible {
        let timedOut: Bool
        let description: String
    }

    let rank: Int
    let ranks: Int
    /// Seconds of silence after which a peer counts as lost.
    let timeout: Double
    private let table: tl_mpi_transport

    private init(table: tl_mpi_transport, timeout: Double) {
        self.table = table
        self.timeout = timeout
        rank = Int(table.rank())
        ranks = Int(table.ranks())
    }

    nonisolated(unsafe) private static var joinedTransport: MPITransport?
    private static let lock = NSLock()

    /// The MPI job of this process, joined on first use (MPI_Init); clear errors when the library or MPI is
    /// missing or the process was not started by mpirun.
    static func joined() throws -> MPITransport {
        lock.lock()
        defer { lock.unlock() }
        if let joinedTransport { return joinedTransport }
        let environment = ProcessInfo.processInfo.environment
        var timeout = 60.0
        if let text = environment["TRAININGLAB_MPI_TIMEOUT"] {
            guard let value = Double(text), value > 0, value.isFinite else {
                throw ConfigError("TRAININGLAB_MPI_TIMEOUT = '\(text)' is invalid; expected seconds > 0")
            }
            timeout = value
        }
        let launchers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
        guard launchers.contains(where: { environment[$0] != nil }) else {
            throw ConfigError("backend=mpi: this process was not started by mpirun (none of \(launchers.joined(separator: ", ")) is set); start every rank with the same command, e.g. mpirun -np 3 tlab run fedavg … --set backend=mpi (as root add --allow-run-as-root)")
        }
        let table = try loadTable(environment)
        guard table.join() == TL_MPI_OK else { throw ConfigError("backend=mpi: \(MPITransport.lastError(table))") }
        let transport = MPITransport(table: table, timeout: timeout)
        let localRanks = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? transport.ranks
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        if environment["OMP_NUM_THREADS"] == nil, Int(tl_get_num_threads()) == cpus {
            try tlCheck(tl_set_num_threads(Int32(max(1, cpus / max(1, localRanks)))))
        }
        joinedTransport = transport
        return transport
    }

    /// The transport table of the first library that loads, or an error listing every place tried and why.
    private static func loadTable(_ environment: [String: String]) throws -> tl_mpi_transport {
        let name = TL_MPI_LIBRARY_NAME
        let candidates = environment["TRAININGLAB_MPI_LIBRARY"].map { [$0] } ?? PluginRegistry.coreLibraryFolder.map { ["\($0)/\(name)", name] } ?? [name]
        var tried: [String] = []
        for path in candidates {
            // RTLD_GLOBAL, as mpi4py does: OpenMPI builds whose components (opened with dlopen) do not link libmpi
            // themselves need its symbols global. Debian's 4.1 works either way.
            guard let handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE) else {
                tried.append(dlerror().map { String(cString: $0) } ?? "\(path): cannot be loaded")
                continue
            }
            guard let symbol = dlsym(handle, TL_MPI_TRANSPORT_SYMBOL) else {
                throw ConfigError("backend=mpi: \(path) has no symbol \(TL_MPI_TRANSPORT_SYMBOL); it is not TrainingLab's MPI transport")
            }
            typealias Entry = @convention(c) () -> UnsafePointer<tl_mpi_transport>?
            guard let table = unsafeBitCast(symbol, to: Entry.self)()?.pointee else {
                throw ConfigError("backend=mpi: \(TL_MPI_TRANSPORT_SYMBOL) of \(path) returned NULL")
            }
            guard table.version == TL_MPI_TRANSPORT_VERSION, table.size == MemoryLayout<tl_mpi_transport>.size else {
                throw ConfigError("backend=mpi: \(path) has transport version \(table.version) (table of \(table.size) bytes), this TrainingLab needs version \(TL_MPI_TRANSPORT_VERSION) (\(MemoryLayout<tl_mpi_transport>.size) bytes); rebuild it")
            }
            return table
        }
        throw ConfigError("backend=mpi needs the MPI transport library \(name), which did not load (\(tried.joined(separator: "; "))). `swift build` builds it where OpenMPI's development files are installed: apt-get install libopenmpi-dev openmpi-bin (`make deps` does), then rebuild")
    }

    private static func lastError(_ table: tl_mpi_transport) -> String { table.last_error().map { String(cString: $0) } ?? "" }

    /// Sends `bytes` to `destination`; throws `Failure` (timedOut when it did not complete within `timeout`).
    func send(_ bytes: Data, to destination: Int, tag: Tag) throws {
        let status = bytes.withUnsafeBytes { table.send($0.baseAddress, Int64($0.count), Int32(destination), tag.rawValue, timeout) }
        guard status == TL_MPI_OK else {
            throw Failure(timedOut: status == TL_MPI_TIMEOUT, description: MPITransport.lastError(table))
        }
    }

    /// The next message from `source` (nil: any rank) with `tag` (nil: any), or nil when none came within `wait` seconds.
    func receive(from source: Int?, tag: Tag? = nil, wait: Double) throws -> Message? {
        var from: Int32 = 0, got: Int32 = 0, count: Int64 = 0
        var bytes: UnsafeMutableRawPointer?
        let status = table.receive(source.map(Int32.init) ?? TL_MPI_ANY, tag?.rawValue ?? TL_MPI_ANY, wait, &from, &got, &bytes, &count)
        if status == TL_MPI_TIMEOUT { return nil }
        guard status == TL_MPI_OK else { throw Failure(timedOut: false, description: MPITransport.lastError(table)) }
        let release = table.release!
        let data = bytes.map { Data(bytesNoCopy: $0, count: Int(count), deallocator: .custom { pointer, _ in release(pointer) }) } ?? Data()
        guard let kind = Tag(rawValue: got) else { throw Failure(timedOut: false, description: "rank \(rank): a message from rank \(from) has unknown tag \(got)") }
        return Message(source: Int(from), tag: kind, bytes: data)
    }

    /// Prints why on stderr and ends every rank of the job (MPI_Abort): a rank that stops without it would
    /// leave the others waiting, and MPI_Finalize at exit would wait for them.
    func abort(_ reason: String) -> Never {
        FileHandle.standardError.write(Data("tlab rank \(rank) of \(ranks): \(reason)\nending the MPI job\n".utf8))
        table.abort(1)
        exit(1)
    }

    /// Several byte strings as one message: a count, then each part's length and bytes (little-endian UInt64s).
    static func pack(_ parts: [Data]) -> Data {
        var out = Data()
        func append(_ n: Int) { withUnsafeBytes(of: UInt64(n).littleEndian) { out.append(contentsOf: $0) } }
        append(parts.count)
        for part in parts {
            append(part.count)
            out.append(part)
        }
        return out
    }

    /// The parts `pack` joined.
    static func unpack(_ data: Data) throws -> [Data] {
        var position = data.startIndex
        func next() throws -> Int {
            guard data.endIndex - position >= 8 else { throw TrainingError("MPI message: truncated (\(data.count) bytes)") }
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: data[position..<position + 8]) }
            position += 8
            return Int(UInt64(littleEndian: value))
        }
        return try (0..<next()).map { _ in
            let count = try next()
            guard count >= 0, data.endIndex - position >= count else { throw TrainingError("MPI message: a part of \(count) bytes overruns the message") }
            defer { position += count }
            return data.subdata(in: position..<position + count)
        }
    }
}
