using System.Security.Cryptography.X509Certificates;
using SecureFed.Audit;
using SecureFed.Audit.Reports;
using SecureFed.Identity;

namespace SecureFed.Hosting;

/// <summary>
/// The audit report of a coordinator's ledger as it stands (report.json and report.html), the ledger verified against
/// the coordinator certificate and the consortium CA first; what `simulate` and `securefed coordinator` write at the end
/// of a federation or when a signal stops it.
/// </summary>
public static class LedgerReport
{
    /// <summary>Writes the report of <paramref name="ledgerPath"/> into <paramref name="outDir"/> (created if missing).</summary>
    public static ReportFiles Write(
        string ledgerPath, X509Certificate2 coordinator, X509Certificate2 root, string federationId, string outDir, ReportExportedModel? exported = null)
    {
        var entries = AuditLedger.Read(ledgerPath);
        var report = AuditReport.Build(entries, new ReportContext
        {
            // The ledger itself carries each round's federated evaluation, so the report needs no summary.
            Verification = LedgerVerifier.Verify(entries, coordinator, root, TimeProvider.System),
            FederationId = federationId,
            GeneratedAt = DateTimeOffset.UtcNow,
            LedgerSource = Path.GetFileName(ledgerPath),
            ExportedModel = exported,
        });
        Directory.CreateDirectory(outDir);
        return ReportWriter.Write(report, outDir);
    }

    /// <summary>The coordinator's report, when its configuration names a <see cref="CoordinatorConfig.ReportDirectory"/>; null otherwise.</summary>
    public static ReportFiles? WriteFor(CoordinatorConfig config, Coordinator.CoordinatorHost host)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(host);
        if (string.IsNullOrEmpty(config.ReportDirectory))
        {
            return null;
        }

        using var coordinator = CertificateStore.LoadCertificate(config.Certificate);
        using var root = CertificateStore.LoadCertificate(config.CaCertificate);
        return Write(host.LedgerPath, coordinator, root, config.FederationId, config.ReportDirectory);
    }
}
