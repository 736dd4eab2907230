using System.Runtime.InteropServices;

namespace SecureFed.Crypto.Internal;

/// <summary>The AES-CTR mask PRGs (<see cref="MaskPrgs"/>); see <see cref="IMaskGenerator"/> for the stream layout
/// and guarantees.</summary>
/// <remarks>AES-256-CTR is keyed with the whole 32-byte seed and counts from the zero block. AES-128-CTR is keyed
/// with seed bytes [0, 16) and counts from the block in seed bytes [16, 32): every seed bit still selects the stream,
/// and the stream is AES-128 as a PRF on distinct counter blocks.</remarks>
internal sealed class AesCtrMaskGenerator : IMaskGenerator
{
    private static readonly byte[] ZeroCounter = new byte[AesCtrKeystream.BlockSize];
    private readonly bool _allowHardware;
    private readonly bool _aes128;

    /// <param name="allowHardware">False forces the BCL AES-ECB engine (tests compare both engines).</param>
    /// <param name="name">A <see cref="MaskPrgs"/> name.</param>
    public AesCtrMaskGenerator(bool allowHardware = true, string name = MaskPrgs.Aes256Ctr)
    {
        _aes128 = name switch
        {
            MaskPrgs.Aes256Ctr => false,
            MaskPrgs.Aes128Ctr => true,
            _ => throw new ArgumentException($"mask PRG '{name}' must be {MaskPrgs.Aes128Ctr} or {MaskPrgs.Aes256Ctr}", nameof(name)),
        };
        Name = name;
        if (!BitConverter.IsLittleEndian)
        {
            // The element layout is defined as little-endian and the kernels reinterpret memory in place.
            throw new PlatformNotSupportedException("The mask generator supports little-endian platforms only.");
        }

        _allowHardware = allowHardware;
    }

    public int SeedSize => AesCtrKeystream.KeySize;

    public string Name { get; }

    public void Expand(ReadOnlySpan<byte> seed, Span<ulong> output, long elementOffset = 0) =>
        Run<WriteOp>(seed, MemoryMarshal.AsBytes(output), ElementOffsetToBytes(elementOffset, sizeof(ulong)));

    public void Expand(ReadOnlySpan<byte> seed, Span<uint> output, long elementOffset = 0) =>
        Run<WriteOp>(seed, MemoryMarshal.AsBytes(output), ElementOffsetToBytes(elementOffset, sizeof(uint)));

    public void ExpandBytes(ReadOnlySpan<byte> seed, Span<byte> output, long byteOffset = 0) =>
        Run<WriteOp>(seed, output, ElementOffsetToBytes(byteOffset, 1, nameof(byteOffset)));

    public void AddExpand(ReadOnlySpan<byte> seed, Span<ulong> target, long elementOffset = 0) =>
        Run<Add64Op>(seed, MemoryMarshal.AsBytes(target), ElementOffsetToBytes(elementOffset, sizeof(ulong)));

    public void AddExpand(ReadOnlySpan<byte> seed, Span<uint> target, long elementOffset = 0) =>
        Run<Add32Op>(seed, MemoryMarshal.AsBytes(target), ElementOffsetToBytes(elementOffset, sizeof(uint)));

    public void SubtractExpand(ReadOnlySpan<byte> seed, Span<ulong> target, long elementOffset = 0) =>
        Run<Subtract64Op>(seed, MemoryMarshal.AsBytes(target), ElementOffsetToBytes(elementOffset, sizeof(ulong)));

    public void SubtractExpand(ReadOnlySpan<byte> seed, Span<uint> target, long elementOffset = 0) =>
        Run<Subtract32Op>(seed, MemoryMarshal.AsBytes(target), ElementOffsetToBytes(elementOffset, sizeof(uint)));

    private static ulong ElementOffsetToBytes(long offset, int elementSize, string name = "elementOffset")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset, name);
        return checked((ulong)offset * (ulong)elementSize);
    }

    private void Run<TOp>(ReadOnlySpan<byte> seed, Span<byte> data, ulong byteOffset)
        where TOp : struct, IKeystreamOp
    {
        if (seed.Length != AesCtrKeystream.KeySize)
        {
            throw new ArgumentException(
                $"A mask seed is {AesCtrKeystream.KeySize} bytes; got {seed.Length}.", nameof(seed));
        }

        // The keystream is applied in place block by block: no buffer proportional to data.Length.
        using var keystream = _aes128
            ? new AesCtrKeystream(seed[..AesCtrKeystream.Aes128KeySize], seed[AesCtrKeystream.Aes128KeySize..], _allowHardware)
            : new AesCtrKeystream(seed, ZeroCounter, _allowHardware);
        keystream.Apply<TOp>(byteOffset, data);
    }
}
