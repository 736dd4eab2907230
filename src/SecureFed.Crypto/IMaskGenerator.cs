namespace SecureFed.Crypto;

/// <summary>
/// A cryptographic pseudo-random generator that expands a 32-byte seed into masks over the rings
/// Z/2^64, Z/2^32 or into bytes (Bonawitz et al., CCS 2017, section 4: PRG(b_u) and PRG(s_uv)).
/// </summary>
/// <remarks>
/// <para>Construction (<see cref="Name"/>, one of <see cref="MaskPrgs"/>): AES in counter mode (NIST SP 800-38A
/// section 6.5), the whole 128-bit counter block incremented as a big-endian integer. aes-256-ctr is keyed with the
/// seed and counts from the zero block; aes-128-ctr is keyed with seed bytes [0, 16) and counts from the block in
/// seed bytes [16, 32). Keystream byte j is
/// mask byte j; ring element i of a <see cref="ulong"/> mask is the little-endian value of keystream bytes
/// [8i, 8i+8), of a <see cref="uint"/> mask of bytes [4i, 4i+4). The stream is therefore a fixed function of the
/// seed, the same on every platform and for every way of cutting it into chunks: the <c>elementOffset</c>
/// parameters let a caller mask a long vector piece by piece (for example model chunks) and get exactly the
/// elements a single call would give.</para>
/// <para>Guarantee: if the seed is uniform and secret, the output is computationally indistinguishable from
/// uniform (AES as a pseudo-random permutation; the PRP/PRF switching term q²/2^129 is negligible for any
/// realistic q, e.g. 2^-90 for 2^20 blocks of 16 bytes). Uniform elements mod 2^64 stay uniform mod 2^k for
/// any k ≤ 64 by keeping the low k bits, so rings smaller than 2^32 use the <see cref="uint"/> overloads and
/// reduce. Never use one seed for two purposes: derive separate seeds with <see cref="IKeyDerivation"/>.</para>
/// <para>The add/subtract variants work in place, block by block, without materialising the mask; they
/// allocate no memory proportional to the vector length. Implementations are stateless and thread-safe.</para>
/// </remarks>
public interface IMaskGenerator
{
    /// <summary>Seed length in bytes (32).</summary>
    int SeedSize { get; }

    /// <summary>The construction's name: a <see cref="MaskPrgs"/> value, which plans and round contexts carry.</summary>
    string Name { get; }

    /// <summary>Writes mask elements [elementOffset, elementOffset + output.Length) into <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void Expand(ReadOnlySpan<byte> seed, Span<ulong> output, long elementOffset = 0);

    /// <summary>Writes mask elements [elementOffset, elementOffset + output.Length) into <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void Expand(ReadOnlySpan<byte> seed, Span<uint> output, long elementOffset = 0);

    /// <summary>Writes keystream bytes [byteOffset, byteOffset + output.Length) into <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteOffset"/> is negative.</exception>
    void ExpandBytes(ReadOnlySpan<byte> seed, Span<byte> output, long byteOffset = 0);

    /// <summary>target[i] += mask[elementOffset + i] (mod 2^64), in place.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void AddExpand(ReadOnlySpan<byte> seed, Span<ulong> target, long elementOffset = 0);

    /// <summary>target[i] += mask[elementOffset + i] (mod 2^32), in place.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void AddExpand(ReadOnlySpan<byte> seed, Span<uint> target, long elementOffset = 0);

    /// <summary>target[i] -= mask[elementOffset + i] (mod 2^64), in place.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void SubtractExpand(ReadOnlySpan<byte> seed, Span<ulong> target, long elementOffset = 0);

    /// <summary>target[i] -= mask[elementOffset + i] (mod 2^32), in place.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementOffset"/> is negative.</exception>
    void SubtractExpand(ReadOnlySpan<byte> seed, Span<uint> target, long elementOffset = 0);
}
