namespace SecureFed.Crypto;

/// <summary>
/// Signs payloads with a certificate key: ECDSA over NIST P-256 with SHA-256 (FIPS 186-5), signatures in the
/// fixed-length IEEE P1363 format r || s (64 bytes).
/// </summary>
/// <remarks>
/// Guarantee: existential unforgeability under chosen-message attack, so a verifier holding the matching public
/// key (from a certificate checked against the consortium CA) knows the key holder signed exactly these bytes.
/// The signature covers bytes, not meaning: encode structured payloads injectively and with a purpose label
/// (<see cref="SignedPayload.Encode"/>). Signatures are randomized, so signing twice gives different bytes.
/// Thread-safe. Disposing releases the key if the signer owns it (when made from a certificate).
/// </remarks>
public interface ISigner : IDisposable
{
    /// <summary>The algorithm name, <c>ECDSA-P256-SHA256</c>.</summary>
    string Algorithm { get; }

    /// <summary>The signer's public key as DER SubjectPublicKeyInfo (for ledgers and fingerprints).</summary>
    byte[] ExportSubjectPublicKeyInfo();

    /// <summary>Signs <paramref name="payload"/>; returns the 64-byte r || s signature.</summary>
    byte[] Sign(ReadOnlySpan<byte> payload);
}

/// <summary>
/// Verifies ECDSA P-256 / SHA-256 signatures in IEEE P1363 format made by an <see cref="ISigner"/>.
/// </summary>
/// <remarks>
/// Guarantee: returns true only for a signature made with the matching private key over exactly these payload
/// bytes (up to the unforgeability of ECDSA); malformed signatures of any length return false, never throw.
/// This checks the signature only: validating the certificate chain, EKU and silo identity is the caller's job.
/// Thread-safe. Disposing releases the key if the verifier owns it.
/// </remarks>
public interface ISignatureVerifier : IDisposable
{
    /// <summary>The algorithm name, <c>ECDSA-P256-SHA256</c>.</summary>
    string Algorithm { get; }

    /// <summary>Whether <paramref name="signature"/> is valid for <paramref name="payload"/>.</summary>
    bool Verify(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature);
}
