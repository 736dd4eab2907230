using System.CommandLine;
using SecureFed.Cli;
using SecureFed.Identity;

namespace SecureFed.Federation.Tests;

/// <summary><c>securefed certs issue/request/sign/revoke/revoked</c> through the command tree, with real files and exit codes.</summary>
public sealed class CertsCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "securefed-certs-cli-" + Guid.NewGuid().ToString("N"));

    public CertsCliTests()
    {
        ConsortiumLayout.Init(Path.Combine(_dir, "ca"), 2, [], TimeProvider.System, overwrite: false);
    }

    private string Ca => Path.Combine(_dir, "ca");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Program.BuildRoot().Parse(args)
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new Run(code, output.ToString(), error.ToString());
    }

    private sealed record Run(int Code, string Output, string Error);

    [Fact]
    public async Task Issue_NewSilo_ExitZeroWritesPairAndPrintsItsPin()
    {
        var run = await RunAsync("certs", "issue", "--ca-dir", Ca, "--silo", "silo-3");

        Assert.Equal(0, run.Code);
        using var silo = CertificateStore.LoadCertificateWithKey(Path.Combine(Ca, "silo-3.pem"), Path.Combine(Ca, "silo-3.key.pem"));
        Assert.Contains($"\"silo-3=sha256:{CertificateFingerprint.Sha256Hex(silo)}\"", run.Output, StringComparison.Ordinal);
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task Issue_ExistingSiloWithoutRotate_ExitOneOneLineNamingFileAndRotate()
    {
        var run = await RunAsync("certs", "issue", "--ca-dir", Ca, "--silo", "silo-1");

        Assert.Equal(1, run.Code);
        string line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("silo-1.pem", line, StringComparison.Ordinal);
        Assert.Contains("--rotate", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_RotateThroughCli_OldCertificateOnTheListTheOtherSiloNot()
    {
        string oldFingerprint;
        using (var old = CertificateStore.LoadCertificate(Path.Combine(Ca, "silo-1.pem")))
        {
            oldFingerprint = CertificateFingerprint.Sha256Hex(old);
        }

        var rotate = await RunAsync("certs", "issue", "--ca-dir", Ca, "--silo", "silo-1", "--rotate");
        var listed = await RunAsync("certs", "revoked", "--ca", Path.Combine(Ca, "ca.pem"), "--deny-list", Path.Combine(Ca, "revoked.txt"));

        Assert.Equal(0, rotate.Code);
        Assert.Equal(0, listed.Code);
        Assert.Contains($"sha256:{oldFingerprint}", listed.Output, StringComparison.Ordinal);
        using var silo2 = CertificateStore.LoadCertificate(Path.Combine(Ca, "silo-2.pem"));
        Assert.DoesNotContain(CertificateFingerprint.Sha256Hex(silo2), listed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_NeitherSiloNorCoordinator_ExitTwo()
    {
        var run = await RunAsync("certs", "issue", "--ca-dir", Ca);

        Assert.Equal(2, run.Code);
        Assert.Contains("--silo", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Issue_InvalidSiloId_ExitTwoWithoutStackTrace()
    {
        var run = await RunAsync("certs", "issue", "--ca-dir", Ca, "--silo", "bad id!");

        Assert.Equal(2, run.Code);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestThenSign_ThroughCli_SiloKeyNeverInCaFolderAndCertificateValidates()
    {
        string siloDir = Path.Combine(_dir, "clinic");

        var request = await RunAsync("certs", "request", "--silo", "clinic-7", "--out", siloDir);
        var sign = await RunAsync("certs", "sign", "--ca-dir", Ca, "--csr", Path.Combine(siloDir, "silo-clinic-7.csr.pem"), "--silo", "clinic-7", "--out", siloDir);

        Assert.Equal(0, request.Code);
        Assert.Equal(0, sign.Code);
        Assert.Empty(Directory.GetFiles(Ca, "*clinic*"));
        using var root = CertificateStore.LoadCertificate(Path.Combine(Ca, "ca.pem"));
        using var silo = CertificateStore.LoadCertificateWithKey(Path.Combine(siloDir, "silo-clinic-7.pem"), Path.Combine(siloDir, "silo-clinic-7.key.pem"));
        var result = new PeerCertificateValidator(root, TimeProvider.System).ValidateSilo(silo);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal("clinic-7", result.SiloId!.Value);
    }

    [Fact]
    public async Task Sign_RequestForAnotherId_ExitOneNamingBothIds()
    {
        string siloDir = Path.Combine(_dir, "clinic");
        await RunAsync("certs", "request", "--silo", "clinic-7", "--out", siloDir);

        var sign = await RunAsync("certs", "sign", "--ca-dir", Ca, "--csr", Path.Combine(siloDir, "silo-clinic-7.csr.pem"), "--silo", "clinic-8");

        Assert.Equal(1, sign.Code);
        Assert.Contains("asks for silo 'clinic-7', not 'clinic-8'", sign.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_CertificateFile_ValidatorReadingTheListRefusesIt()
    {
        var run = await RunAsync("certs", "revoke", "--ca-dir", Ca, "--cert", Path.Combine(Ca, "silo-2.pem"), "--reason", "laptop stolen");

        Assert.Equal(0, run.Code);
        using var root = CertificateStore.LoadCertificate(Path.Combine(Ca, "ca.pem"));
        using var silo2 = CertificateStore.LoadCertificate(Path.Combine(Ca, "silo-2.pem"));
        using var silo1 = CertificateStore.LoadCertificate(Path.Combine(Ca, "silo-1.pem"));
        var validator = new PeerCertificateValidator(root, TimeProvider.System, new PeerRestrictions { DenyList = new DenyListFile(Path.Combine(Ca, "revoked.txt"), root) });
        var refused = validator.ValidateSilo(silo2);
        Assert.Equal(PeerValidationFailure.Revoked, refused.Failure);
        Assert.Contains("laptop stolen", refused.Message, StringComparison.Ordinal);
        Assert.True(validator.ValidateSilo(silo1).IsValid);
    }

    [Fact]
    public async Task Revoke_TwoTargets_ExitTwo()
    {
        var run = await RunAsync("certs", "revoke", "--ca-dir", Ca, "--silo", "silo-1", "--fingerprint", "sha256:" + new string('a', 64));

        Assert.Equal(2, run.Code);
        Assert.False(File.Exists(Path.Combine(Ca, "revoked.txt")));
    }

    [Theory]
    [InlineData("issue")]
    [InlineData("request")]
    [InlineData("sign")]
    [InlineData("revoke")]
    [InlineData("revoked")]
    public async Task Help_EveryCertsCommand_DocumentsExitCodes(string command)
    {
        var run = await RunAsync("certs", command, "--help");

        Assert.Equal(0, run.Code);
        Assert.Contains("Exit codes: 0", run.Output, StringComparison.Ordinal);
    }
}
