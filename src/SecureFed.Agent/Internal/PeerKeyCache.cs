using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureFed.Crypto;
using SecureFed.Identity;
using SecureFed.Protocol;

namespace SecureFed.Agent.Internal;

/// <summary>
/// The peers' certificates and signature keys this agent has loaded, by the SHA-256 of their DER, so a neighbour met
/// every round is parsed and its key imported once (at 1000 SecAgg+ silos each silo loaded its 128 neighbours'
/// certificates every round, a quarter of a millisecond each). Every lookup still validates the certificate against
/// the consortium CA at this moment (<see cref="PeerCertificateValidator"/>: validity, usage, silo id, deny-list,
/// pins), so a revocation or an expiry applies at the next round as before. Holds at most <see cref="Capacity"/>
/// certificates; past it a lookup hands out a key the caller owns. Used by the agent's read loop only; locked all
/// the same.
/// </summary>
internal sealed class PeerKeyCache : IDisposable
{
    internal const int Capacity = 4096;

    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _byDer = new(StringComparer.Ordinal);
    private readonly PeerCertificateValidator _validator;
    private bool _disposed;

    public PeerKeyCache(PeerCertificateValidator validator)
    {
        _validator = validator ?? throw new ArgumentNullException(nameof(validator));
    }

    /// <summary>Certificates parsed so far (a certificate seen again is not parsed again); for tests.</summary>
    internal int Loads { get; private set; }

    /// <summary>
    /// Validates the certificate <paramref name="der"/> as silo <paramref name="siloId"/>'s and returns the verifier of its
    /// key; <paramref name="owned"/> says whether the caller must dispose it (the cache was full).
    /// </summary>
    /// <exception cref="ProtocolViolationException">The certificate is refused, or names another silo.</exception>
    public ISignatureVerifier Verifier(string siloId, ReadOnlySpan<byte> der, out bool owned)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var key = Convert.ToHexStringLower(SHA256.HashData(der));
            owned = false;
            if (_byDer.TryGetValue(key, out var entry))
            {
                Check(siloId, entry.Certificate);
                return entry.Verifier;
            }

            Loads++;
            var certificate = X509CertificateLoader.LoadCertificate(der);
            bool kept = false;
            try
            {
                Check(siloId, certificate);
                var verifier = CryptoProvider.Default.CreateVerifier(certificate);
                if (_byDer.Count < Capacity)
                {
                    _byDer[key] = new Entry(certificate, verifier);
                    kept = true;
                }
                else
                {
                    owned = true;
                }

                return verifier;
            }
            finally
            {
                if (!kept)
                {
                    certificate.Dispose(); // refused, or not kept (the verifier does not need it)
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var entry in _byDer.Values)
            {
                entry.Verifier.Dispose();
                entry.Certificate.Dispose();
            }

            _byDer.Clear();
        }
    }

    private void Check(string siloId, X509Certificate2 certificate)
    {
        var check = _validator.ValidateSilo(certificate);
        if (!check.IsValid || check.SiloId?.Value != siloId)
        {
            throw new ProtocolViolationException(FaultKind.PermissionDenied, $"peer certificate for '{siloId}' refused: {check.Message}");
        }
    }

    private sealed record Entry(X509Certificate2 Certificate, ISignatureVerifier Verifier);
}
