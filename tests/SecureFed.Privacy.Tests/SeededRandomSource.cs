using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SecureFed.Crypto;

namespace SecureFed.Privacy.Tests;

/// <summary>
/// Deterministic <see cref="IRandomSource"/> for tests: AES-256 in counter mode under the key SHA-256(seed).
/// Thread-safe. Also counts the bytes handed out, so tests can check that the code under test draws from it.
/// </summary>
internal sealed class SeededRandomSource : IRandomSource, IDisposable
{
    private const int BlocksPerRefill = 256;
    private readonly Lock _gate = new();
    private readonly Aes _aes;
    private readonly byte[] _counterBlocks = new byte[BlocksPerRefill * 16];
    private readonly byte[] _buffer = new byte[BlocksPerRefill * 16];
    private ulong _counter;
    private int _position;

    public SeededRandomSource(string seed)
    {
        _aes = Aes.Create();
        _aes.Key = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        _position = _buffer.Length;
    }

    public long BytesServed { get; private set; }

    public void Fill(Span<byte> destination)
    {
        lock (_gate)
        {
            BytesServed += destination.Length;
            while (destination.Length > 0)
            {
                if (_position == _buffer.Length)
                {
                    Refill();
                }

                int n = Math.Min(destination.Length, _buffer.Length - _position);
                _buffer.AsSpan(_position, n).CopyTo(destination);
                _position += n;
                destination = destination[n..];
            }
        }
    }

    public void Dispose() => _aes.Dispose();

    private void Refill()
    {
        for (int i = 0; i < BlocksPerRefill; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_counterBlocks.AsSpan(i * 16), _counter++);
        }

        _aes.EncryptEcb(_counterBlocks, _buffer, PaddingMode.None);
        _position = 0;
    }
}
