using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SecureFed.Training;

/// <summary>
/// The randomness of record-level DP-SGD: the Poisson selection of every row at every step and the Gaussian noise.
/// Both are derived from the bytes this source returns, so the privacy guarantee holds only when nobody can predict
/// them. Production uses <see cref="RecordPrivacyRandom.Secure"/>; <see cref="RecordPrivacyRandom.Seeded"/> exists
/// for tests and benchmarks. Implementations must be safe to call from several threads at once.
/// </summary>
public interface IRecordPrivacyRandom
{
    /// <summary>Fills <paramref name="destination"/> with uniformly random bytes.</summary>
    void Fill(Span<byte> destination);
}

/// <summary>The two <see cref="IRecordPrivacyRandom"/> sources.</summary>
public static class RecordPrivacyRandom
{
    /// <summary>The operating system's CSPRNG (<see cref="RandomNumberGenerator"/>). Thread-safe. The default.</summary>
    public static IRecordPrivacyRandom Secure { get; } = new SecureSource();

    /// <summary>
    /// A reproducible stream for TESTS AND BENCHMARKS ONLY: anyone who knows <paramref name="seed"/> knows which rows
    /// every step used and every noise value, so the update it produces has no privacy at all. The stream is
    /// AES-256-CTR under SHA-256(seed, label), identical on every platform; each instance starts at the beginning, so
    /// use a new instance per run to repeat a run. Thread-safe (a lock).
    /// </summary>
    public static IRecordPrivacyRandom Seeded(ulong seed) => new SeededSource(seed);

    private sealed class SecureSource : IRecordPrivacyRandom
    {
        public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);

        public override string ToString() => "secure";
    }

    private sealed class SeededSource : IRecordPrivacyRandom
    {
        private const int BufferBytes = 4096;
        private readonly Lock _lock = new();
        private readonly Aes _aes;
        private readonly byte[] _counter = new byte[BufferBytes];
        private readonly byte[] _stream = new byte[BufferBytes];
        private readonly ulong _seed;
        private ulong _block;
        private int _position = BufferBytes;

        public SeededSource(ulong seed)
        {
            _seed = seed;
            var label = "SecureFed.Training.SeededRandom/1"u8;
            Span<byte> material = stackalloc byte[8 + label.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(material, seed);
            label.CopyTo(material[8..]);
            _aes = Aes.Create();
            _aes.Key = SHA256.HashData(material);
        }

        public void Fill(Span<byte> destination)
        {
            lock (_lock)
            {
                while (destination.Length > 0)
                {
                    if (_position == BufferBytes)
                    {
                        Refill();
                    }

                    var take = Math.Min(destination.Length, BufferBytes - _position);
                    _stream.AsSpan(_position, take).CopyTo(destination);
                    _position += take;
                    destination = destination[take..];
                }
            }
        }

        public override string ToString() => $"seeded({_seed}) - not for production";

        private void Refill()
        {
            for (var offset = 0; offset < BufferBytes; offset += 16)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(_counter.AsSpan(offset), _block++);
            }

            _aes.EncryptEcb(_counter, _stream, PaddingMode.None);
            _position = 0;
        }
    }
}
