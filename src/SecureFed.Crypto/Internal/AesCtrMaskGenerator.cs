using System.Runtime.InteropServices;

namespace SecureFed.Crypto.Internal;

/// <summary>AES-256-CTR mask PRG; see <see cref="IMaskGenerator"/> for the stream layout and guarantees.</summary>
internal sealed class AesCtrMaskGenerator : IMaskGenerator
{
    private static readonly byte[] ZeroCounter = new byte[AesCtrKeystream.BlockSize];
    private readonly bool _allowHardware;

    /// <param name="allowHardware">False forces the BCL AES-ECB engine (tests compare both engines).</param>
    public AesCtrMaskGenerator(bool allowHardware = true)
    {
        if (!BitConverter.IsLittleEndian)
        {
            // The element layout is defined as little-endian and the kernels reinterpret memory in place.
            throw new PlatformNotSupportedException("The mask generator supports little-endian platforms only.");
        }

        _allowHardware = allowHardware;
    }

    public int SeedSize => AesCtrKeystream.KeySize;

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
        using var keystream = new AesCtrKeystream(seed, ZeroCounter, _allowHardware);
        keystream.Apply<TOp>(byteOffset, data);
    }
}
