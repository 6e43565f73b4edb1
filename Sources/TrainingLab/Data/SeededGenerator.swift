/// The one source of randomness of the data pipeline: every shuffle, split and subset draws from it, so the
/// same seed gives the same data order on every machine and Swift version (the standard library's
/// `shuffle(using:)` algorithm is not guaranteed stable, so shuffles are written out here).
///
/// It is Philox4x32-10 keyed by `seed`, exactly the stream of the C core's `tl_rng_u32(seed, i)`; `next()`
/// returns words 2k and 2k+1 as the low and high halves. `split(_:)` derives independent child streams by
/// label (epoch, view, client, purpose), so one run seed fans out deterministically.
public struct SeededGenerator: RandomNumberGenerator {
    public let seed: UInt64
    /// Index of the next Philox block.
    private var block: UInt64 = 0
    private var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    /// 0 or 2: which half of the current block `next()` returns; 4 means the block is used up.
    private var position = 4

    public init(seed: UInt64) { self.seed = seed }

    /// A child stream that depends only on (seed, label); different labels give unrelated streams.
    public func split(_ label: UInt64) -> SeededGenerator {
        SeededGenerator(seed: SeededGenerator.mix(SeededGenerator.mix(seed) ^ SeededGenerator.mix(label &+ 0x632B_E59B_D9B4_E019)))
    }

    /// A child stream named by a string (FNV-1a of its UTF-8 bytes, stable across runs and platforms).
    public func split(_ label: String) -> SeededGenerator {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return split(hash)
    }

    public mutating func next() -> UInt64 {
        if position == 4 {
            words = SeededGenerator.philox(block: block, key: seed)
            block &+= 1
            position = 0
        }
        defer { position += 2 }
        return position == 0 ? UInt64(words.0) | UInt64(words.1) << 32 : UInt64(words.2) | UInt64(words.3) << 32
    }

    /// SplitMix64's finaliser: a bijective 64-bit mix used to derive child keys.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Philox4x32-10 block `block` under key `key` (the same function as tl_rng_block in include/tl_rng.h).
    static func philox(block: UInt64, key: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: block), c1 = UInt32(truncatingIfNeeded: block >> 32), c2: UInt32 = 0, c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0), p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c0 = n0; c1 = UInt32(truncatingIfNeeded: p1); c2 = n2; c3 = UInt32(truncatingIfNeeded: p0)
            k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }
}
