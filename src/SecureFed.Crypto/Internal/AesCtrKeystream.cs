using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using AesNi = System.Runtime.Intrinsics.X86.Aes;
using BclAes = System.Security.Cryptography.Aes;

namespace SecureFed.Crypto.Internal;

/// <summary>
/// AES-128 or AES-256 (by key length) in counter mode (NIST SP 800-38A section 6.5) with random access by block
/// index. Counter block i is (initial counter block + i) mod 2^128, big-endian, as in SP 800-38A appendix B.1 with
/// m = 128.
/// </summary>
/// <remarks>
/// Two engines produce the same stream: AES-NI intrinsics (8 blocks in flight to hide the AESENC latency; the
/// key schedule also uses AESKEYGENASSIST so nothing depends on table lookups), and the BCL's AES-ECB over a
/// chunk of counter blocks where AES-NI is missing. Not thread-safe; the owner serialises use. Dispose zeroes
/// the round keys.
/// </remarks>
internal sealed class AesCtrKeystream : IDisposable
{
    public const int BlockSize = 16;

    /// <summary>An AES-256 key (14 rounds).</summary>
    public const int KeySize = 32;

    /// <summary>An AES-128 key (10 rounds).</summary>
    public const int Aes128KeySize = 16;

    // Blocks per chunk in the BCL fallback (16 KiB): each EncryptEcb call sets up a native cipher context, so
    // small chunks are dominated by that fixed cost.
    private const int FallbackChunkBlocks = 1024;

    private readonly SecretBytes? _roundKeys; // Nr + 1 round keys of 16 bytes
    private readonly BclAes? _bcl;
    private readonly ulong _ivHigh;
    private readonly ulong _ivLow;
    private bool _disposed;

    public AesCtrKeystream(ReadOnlySpan<byte> key, ReadOnlySpan<byte> initialCounterBlock, bool allowHardware = true)
    {
        if (key.Length is not (KeySize or Aes128KeySize))
        {
            throw new ArgumentException(
                $"AES needs a {Aes128KeySize}-byte (AES-128) or {KeySize}-byte (AES-256) key; got {key.Length}.", nameof(key));
        }

        if (initialCounterBlock.Length != BlockSize)
        {
            throw new ArgumentException(
                $"The initial counter block is {BlockSize} bytes; got {initialCounterBlock.Length}.",
                nameof(initialCounterBlock));
        }

        _ivHigh = BinaryPrimitives.ReadUInt64BigEndian(initialCounterBlock);
        _ivLow = BinaryPrimitives.ReadUInt64BigEndian(initialCounterBlock[8..]);
        if (allowHardware && HardwareAccelerated)
        {
            int rounds = key.Length == KeySize ? 14 : 10;
            _roundKeys = SecretBytes.Allocate((rounds + 1) * BlockSize);
            var roundKeys = MemoryMarshal.Cast<byte, Vector128<byte>>(_roundKeys.Writable);
            if (key.Length == KeySize)
            {
                ExpandKey256(key, roundKeys);
            }
            else
            {
                ExpandKey128(key, roundKeys);
            }
        }
        else
        {
            _bcl = BclAes.Create();
            _bcl.Key = key.ToArray();
        }
    }

    /// <summary>Whether the AES-NI engine can run on this machine.</summary>
    public static bool HardwareAccelerated => AesNi.IsSupported && Ssse3.IsSupported;

    /// <summary>Whether this instance runs on AES-NI.</summary>
    public bool UsesHardware => _roundKeys is not null;

    /// <summary>
    /// Combines keystream bytes [byteOffset, byteOffset + data.Length) into <paramref name="data"/>. For lane-wise
    /// operations <paramref name="byteOffset"/> must be a multiple of the lane size so lanes line up.
    /// </summary>
    public void Apply<TOp>(ulong byteOffset, Span<byte> data)
        where TOp : struct, IKeystreamOp
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong block = byteOffset / BlockSize;
        int within = (int)(byteOffset % BlockSize);
        Span<byte> partial = stackalloc byte[BlockSize];
        if (within != 0 && !data.IsEmpty)
        {
            // A head that starts inside a block: run the whole block on a copy, keep the overlapping part.
            int take = Math.Min(BlockSize - within, data.Length);
            partial.Clear();
            data[..take].CopyTo(partial[within..]);
            ApplyBlocks<TOp>(block, partial);
            partial.Slice(within, take).CopyTo(data);
            data = data[take..];
            block = unchecked(block + 1);
        }

        int whole = data.Length & ~(BlockSize - 1);
        ApplyBlocks<TOp>(block, data[..whole]);
        block = unchecked(block + (ulong)(whole / BlockSize));
        data = data[whole..];
        if (!data.IsEmpty)
        {
            partial.Clear();
            data.CopyTo(partial);
            ApplyBlocks<TOp>(block, partial);
            partial[..data.Length].CopyTo(data);
        }

        CryptographicOperations.ZeroMemory(partial);
    }

    public void Dispose()
    {
        _roundKeys?.Dispose();

        _bcl?.Dispose();
        _disposed = true;
    }

    // data.Length is a multiple of BlockSize.
    private void ApplyBlocks<TOp>(ulong firstBlock, Span<byte> data)
        where TOp : struct, IKeystreamOp
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (_roundKeys is not null)
        {
            ApplyBlocksHardware<TOp>(MemoryMarshal.Cast<byte, Vector128<byte>>(_roundKeys.Reveal()), _ivHigh, _ivLow, firstBlock, data);
        }
        else
        {
            ApplyBlocksFallback<TOp>(firstBlock, data);
        }
    }

    private void ApplyBlocksFallback<TOp>(ulong firstBlock, Span<byte> data)
        where TOp : struct, IKeystreamOp
    {
        byte[] counterBuffer = ArrayPool<byte>.Shared.Rent(FallbackChunkBlocks * BlockSize);
        byte[] keystreamBuffer = ArrayPool<byte>.Shared.Rent(FallbackChunkBlocks * BlockSize);
        try
        {
            ulong block = firstBlock;
            while (!data.IsEmpty)
            {
                int blocks = Math.Min(FallbackChunkBlocks, data.Length / BlockSize);
                int bytes = blocks * BlockSize;
                var counters = counterBuffer.AsSpan(0, bytes);
                var keystream = keystreamBuffer.AsSpan(0, bytes);
                for (int i = 0; i < blocks; i++)
                {
                    (ulong high, ulong low) = CounterAt(_ivHigh, _ivLow, unchecked(block + (ulong)i));
                    BinaryPrimitives.WriteUInt64BigEndian(counters.Slice(i * BlockSize, 8), high);
                    BinaryPrimitives.WriteUInt64BigEndian(counters.Slice((i * BlockSize) + 8, 8), low);
                }

                _bcl!.EncryptEcb(counters, keystream, PaddingMode.None);
                for (int offset = 0; offset < bytes; offset += BlockSize)
                {
                    var existing = TOp.ReadsData ? Vector128.Create<byte>(data.Slice(offset, BlockSize)) : default;
                    TOp.Combine(existing, Vector128.Create<byte>(keystream.Slice(offset, BlockSize))).CopyTo(data[offset..]);
                }

                data = data[bytes..];
                block = unchecked(block + (ulong)blocks);
            }
        }
        finally
        {
            // The pool hands arrays to other code: never return keystream in it.
            CryptographicOperations.ZeroMemory(keystreamBuffer);
            ArrayPool<byte>.Shared.Return(keystreamBuffer);
            ArrayPool<byte>.Shared.Return(counterBuffer);
        }
    }

    private static (ulong High, ulong Low) CounterAt(ulong ivHigh, ulong ivLow, ulong block)
    {
        unchecked
        {
            ulong low = ivLow + block;
            ulong high = ivHigh + (low < ivLow ? 1UL : 0UL);
            return (high, low);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyBlocksHardware<TOp>(
        ReadOnlySpan<Vector128<byte>> roundKeys, ulong ivHigh, ulong ivLow, ulong firstBlock, Span<byte> data)
        where TOp : struct, IKeystreamOp
    {
        unchecked
        {
            // Reverses the 16 bytes: turns the little-endian (low, high) lane pair into the big-endian block.
            var byteSwap = Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
            ReadOnlySpan<Vector128<byte>> rk = roundKeys;
            int rounds = rk.Length - 1;
            var k0 = rk[0];
            var kLast = rk[rounds];
            (ulong high, ulong low) = CounterAt(ivHigh, ivLow, firstBlock);
            ref byte d = ref MemoryMarshal.GetReference(data);
            nuint length = (nuint)data.Length;
            nuint offset = 0;
            const int Lanes = 8;
            const nuint Stride = Lanes * BlockSize;
            while (length - offset >= Stride)
            {
                Vector128<byte> c0, c1, c2, c3, c4, c5, c6, c7;
                if (low <= ulong.MaxValue - (Lanes - 1))
                {
                    // No carry into the high word within these 8 blocks: plain lane additions.
                    var baseCounter = Vector128.Create(low, high);
                    c0 = Ssse3.Shuffle(baseCounter.AsByte(), byteSwap);
                    c1 = Ssse3.Shuffle((baseCounter + Vector128.Create(1UL, 0UL)).AsByte(), byteSwap);
                    c2 = Ssse3.Shuffle((baseCounter + Vector128.Create(2UL, 0UL)).AsByte(), byteSwap);
                    c3 = Ssse3.Shuffle((baseCounter + Vector128.Create(3UL, 0UL)).AsByte(), byteSwap);
                    c4 = Ssse3.Shuffle((baseCounter + Vector128.Create(4UL, 0UL)).AsByte(), byteSwap);
                    c5 = Ssse3.Shuffle((baseCounter + Vector128.Create(5UL, 0UL)).AsByte(), byteSwap);
                    c6 = Ssse3.Shuffle((baseCounter + Vector128.Create(6UL, 0UL)).AsByte(), byteSwap);
                    c7 = Ssse3.Shuffle((baseCounter + Vector128.Create(7UL, 0UL)).AsByte(), byteSwap);
                }
                else
                {
                    c0 = CounterBlock(high, low, 0, byteSwap);
                    c1 = CounterBlock(high, low, 1, byteSwap);
                    c2 = CounterBlock(high, low, 2, byteSwap);
                    c3 = CounterBlock(high, low, 3, byteSwap);
                    c4 = CounterBlock(high, low, 4, byteSwap);
                    c5 = CounterBlock(high, low, 5, byteSwap);
                    c6 = CounterBlock(high, low, 6, byteSwap);
                    c7 = CounterBlock(high, low, 7, byteSwap);
                }

                c0 ^= k0;
                c1 ^= k0;
                c2 ^= k0;
                c3 ^= k0;
                c4 ^= k0;
                c5 ^= k0;
                c6 ^= k0;
                c7 ^= k0;
                for (int r = 1; r < rounds; r++)
                {
                    var k = rk[r];
                    c0 = AesNi.Encrypt(c0, k);
                    c1 = AesNi.Encrypt(c1, k);
                    c2 = AesNi.Encrypt(c2, k);
                    c3 = AesNi.Encrypt(c3, k);
                    c4 = AesNi.Encrypt(c4, k);
                    c5 = AesNi.Encrypt(c5, k);
                    c6 = AesNi.Encrypt(c6, k);
                    c7 = AesNi.Encrypt(c7, k);
                }

                c0 = AesNi.EncryptLast(c0, kLast);
                c1 = AesNi.EncryptLast(c1, kLast);
                c2 = AesNi.EncryptLast(c2, kLast);
                c3 = AesNi.EncryptLast(c3, kLast);
                c4 = AesNi.EncryptLast(c4, kLast);
                c5 = AesNi.EncryptLast(c5, kLast);
                c6 = AesNi.EncryptLast(c6, kLast);
                c7 = AesNi.EncryptLast(c7, kLast);
                Store<TOp>(ref d, offset, c0);
                Store<TOp>(ref d, offset + BlockSize, c1);
                Store<TOp>(ref d, offset + (2 * BlockSize), c2);
                Store<TOp>(ref d, offset + (3 * BlockSize), c3);
                Store<TOp>(ref d, offset + (4 * BlockSize), c4);
                Store<TOp>(ref d, offset + (5 * BlockSize), c5);
                Store<TOp>(ref d, offset + (6 * BlockSize), c6);
                Store<TOp>(ref d, offset + (7 * BlockSize), c7);
                offset += Stride;
                ulong next = low + Lanes;
                high += next < low ? 1UL : 0UL;
                low = next;
            }

            while (offset < length)
            {
                var c = CounterBlock(high, low, 0, byteSwap) ^ k0;
                for (int r = 1; r < rounds; r++)
                {
                    c = AesNi.Encrypt(c, rk[r]);
                }

                Store<TOp>(ref d, offset, AesNi.EncryptLast(c, kLast));
                offset += BlockSize;
                ulong next = low + 1;
                high += next < low ? 1UL : 0UL;
                low = next;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> CounterBlock(ulong high, ulong low, ulong add, Vector128<byte> byteSwap)
    {
        (ulong h, ulong l) = CounterAt(high, low, add);
        return Ssse3.Shuffle(Vector128.Create(l, h).AsByte(), byteSwap);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOp>(ref byte destination, nuint offset, Vector128<byte> keystream)
        where TOp : struct, IKeystreamOp
    {
        var existing = TOp.ReadsData ? Vector128.LoadUnsafe(ref destination, offset) : default;
        TOp.Combine(existing, keystream).StoreUnsafe(ref destination, offset);
    }

    // FIPS 197 section 5.2 key expansion for Nk = 4: each round key is the running xor of the last one's words,
    // xored with SubWord(RotWord(last word)) ^ Rcon, from AESKEYGENASSIST (constant time).
    private static void ExpandKey128(ReadOnlySpan<byte> key, Span<Vector128<byte>> rk)
    {
        ReadOnlySpan<byte> rcon = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1B, 0x36];
        var a = Vector128.Create<byte>(key);
        rk[0] = a;
        for (int i = 0; i < rcon.Length; i++)
        {
            a = NextEven(a, KeygenAssist128(a, rcon[i]));
            rk[i + 1] = a;
        }
    }

    // AESKEYGENASSIST takes its round constant as an immediate; a switch keeps every call a constant.
    private static Vector128<byte> KeygenAssist128(Vector128<byte> a, byte rcon) => rcon switch
    {
        0x01 => AesNi.KeygenAssist(a, 0x01),
        0x02 => AesNi.KeygenAssist(a, 0x02),
        0x04 => AesNi.KeygenAssist(a, 0x04),
        0x08 => AesNi.KeygenAssist(a, 0x08),
        0x10 => AesNi.KeygenAssist(a, 0x10),
        0x20 => AesNi.KeygenAssist(a, 0x20),
        0x40 => AesNi.KeygenAssist(a, 0x40),
        0x80 => AesNi.KeygenAssist(a, 0x80),
        0x1B => AesNi.KeygenAssist(a, 0x1B),
        _ => AesNi.KeygenAssist(a, 0x36),
    };

    // FIPS 197 section 5.2 key expansion for Nk = 8, computed with AESKEYGENASSIST (constant time).
    private static void ExpandKey256(ReadOnlySpan<byte> key, Span<Vector128<byte>> rk)
    {
        var a = Vector128.Create<byte>(key[..16]);
        var b = Vector128.Create<byte>(key[16..]);
        rk[0] = a;
        rk[1] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x01));
        rk[2] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[3] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x02));
        rk[4] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[5] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x04));
        rk[6] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[7] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x08));
        rk[8] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[9] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x10));
        rk[10] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[11] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x20));
        rk[12] = a;
        b = NextOdd(b, AesNi.KeygenAssist(a, 0x00));
        rk[13] = b;
        a = NextEven(a, AesNi.KeygenAssist(b, 0x40));
        rk[14] = a;
    }

    // w[i] = w[i-Nk] ^ SubWord(RotWord(w[i-1])) ^ Rcon, then the running xor across the four words (Nk = 4 or 8).
    private static Vector128<byte> NextEven(Vector128<byte> previous, Vector128<byte> assist) =>
        PrefixXor(previous) ^ Sse2.Shuffle(assist.AsUInt32(), 0xFF).AsByte();

    // w[i] = w[i-8] ^ SubWord(w[i-1]) (no rotation, no Rcon), then the running xor.
    private static Vector128<byte> NextOdd(Vector128<byte> previous, Vector128<byte> assist) =>
        PrefixXor(previous) ^ Sse2.Shuffle(assist.AsUInt32(), 0xAA).AsByte();

    private static Vector128<byte> PrefixXor(Vector128<byte> v)
    {
        // v ^ v<<32 ^ v<<64 ^ v<<96 (word shifts), in two steps.
        v ^= Sse2.ShiftLeftLogical128BitLane(v, 4);
        return v ^ Sse2.ShiftLeftLogical128BitLane(v, 8);
    }
}
