using System.Diagnostics.CodeAnalysis;

namespace SecureFed.Identity;

/// <summary>
/// The outcome of validating a peer certificate. Immutable. Nothing in it is secret: the message, subject and
/// fingerprint describe the presented certificate and may be logged.
/// </summary>
public sealed class PeerValidationResult
{
    private PeerValidationResult(PeerValidationFailure failure, string message, string? subject, string? fingerprint, SiloId? siloId)
    {
        Failure = failure;
        Message = message;
        Subject = subject;
        Sha256Fingerprint = fingerprint;
        SiloId = siloId;
    }

    /// <summary>Whether the certificate was accepted.</summary>
    [MemberNotNullWhen(true, nameof(Sha256Fingerprint), nameof(Subject))]
    public bool IsValid => Failure == PeerValidationFailure.None;

    /// <summary>Why it was refused; <see cref="PeerValidationFailure.None"/> when accepted.</summary>
    public PeerValidationFailure Failure { get; }

    /// <summary>A human-readable explanation (for the accepted case, what was accepted).</summary>
    public string Message { get; }

    /// <summary>The presented certificate's subject, or <see langword="null"/> when none was presented.</summary>
    public string? Subject { get; }

    /// <summary>
    /// The presented certificate's SHA-256 fingerprint (see <see cref="CertificateFingerprint.Sha256Hex"/>),
    /// also for refused certificates, so a refusal can be audited; <see langword="null"/> when none was presented.
    /// </summary>
    public string? Sha256Fingerprint { get; }

    /// <summary>The silo id taken from the certificate; set only when a silo certificate was accepted.</summary>
    public SiloId? SiloId { get; }

    /// <summary>Returns the outcome and message.</summary>
    public override string ToString() => IsValid ? $"Accepted: {Message}" : $"Refused ({Failure}): {Message}";

    internal static PeerValidationResult Accepted(string message, string subject, string fingerprint, SiloId? siloId)
    {
        return new PeerValidationResult(PeerValidationFailure.None, message, subject, fingerprint, siloId);
    }

    internal static PeerValidationResult Refused(PeerValidationFailure failure, string message, string? subject = null, string? fingerprint = null)
    {
        return new PeerValidationResult(failure, message, subject, fingerprint, siloId: null);
    }
}
