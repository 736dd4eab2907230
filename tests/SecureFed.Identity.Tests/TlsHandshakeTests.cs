using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SecureFed.Identity.Tests;

/// <summary>Real TLS 1.3 handshakes over 127.0.0.1 with SslStream and certificates minted per test.</summary>
public sealed class TlsHandshakeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    // Real clock: SslStream also looks at the certificates with the system time.
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly ConsortiumCa _ca;

    public TlsHandshakeTests()
    {
        _ca = Pki.NewCa(_time);
    }

    public void Dispose() => _ca.Dispose();

    [Fact]
    public async Task Handshake_IssuedCertificatesOnBothSides_NegotiatesTls13AndIdentifiesSilo()
    {
        using X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        using X509Certificate2 silo = _ca.IssueSilo(SiloId.Parse("silo-3"), Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, silo, "localhost");

        Assert.Null(outcome.ServerError);
        Assert.Null(outcome.ClientError);
        Assert.Equal(SslProtocols.Tls13, outcome.Protocol);
        Assert.True(outcome.Echoed);
        Assert.True(outcome.ServerSaw!.IsValid, outcome.ServerSaw.Message);
        Assert.Equal(SiloId.Parse("silo-3"), outcome.ServerSaw.SiloId);
        Assert.Equal(CertificateFingerprint.Sha256Hex(silo), outcome.ServerSaw.Sha256Fingerprint);
        Assert.True(outcome.ClientSaw!.IsValid, outcome.ClientSaw.Message);
        Assert.Equal(CertificateFingerprint.Sha256Hex(coordinator), outcome.ClientSaw.Sha256Fingerprint);
    }

    [Fact]
    public async Task Handshake_ConnectingByIpAddress_Succeeds()
    {
        using X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        using X509Certificate2 silo = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, silo, "127.0.0.1");

        Assert.Null(outcome.ClientError);
        Assert.True(outcome.Echoed);
    }

    [Fact]
    public async Task Handshake_ClientCertificateFromForeignCa_ServerRefusesAndNoDataFlows()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        using X509Certificate2 silo = impostor.IssueSilo(SiloId.Parse("silo-3"), Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, silo, "localhost");

        Assert.IsType<AuthenticationException>(outcome.ServerError);
        Assert.Equal(PeerValidationFailure.UntrustedIssuer, outcome.ServerSaw!.Failure);
        Assert.False(outcome.Echoed);
    }

    [Fact]
    public async Task Handshake_NoClientCertificate_ServerRefuses()
    {
        using X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, clientCertificate: null, "localhost");

        Assert.IsType<AuthenticationException>(outcome.ServerError);
        Assert.Equal(PeerValidationFailure.NoCertificate, outcome.ServerSaw!.Failure);
        Assert.False(outcome.Echoed);
    }

    [Fact]
    public async Task Handshake_HostNameNotInCertificate_ClientRefusesWithNameMismatch()
    {
        using X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity);
        using X509Certificate2 silo = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, silo, "coordinator.elsewhere.example");

        Assert.IsType<AuthenticationException>(outcome.ClientError);
        Assert.Equal(PeerValidationFailure.NameMismatch, outcome.ClientSaw!.Failure);
        Assert.False(outcome.Echoed);
    }

    [Fact]
    public async Task Handshake_ServerCertificateFromForeignCa_ClientRefuses()
    {
        using ConsortiumCa impostor = Pki.NewCa(_time);
        using X509Certificate2 coordinator = impostor.IssueCoordinator([], [], Pki.LeafValidity);
        using X509Certificate2 silo = _ca.IssueSilo(SiloId.Parse("silo-1"), Pki.LeafValidity);

        Outcome outcome = await RunAsync(coordinator, silo, "localhost");

        Assert.IsType<AuthenticationException>(outcome.ClientError);
        Assert.Equal(PeerValidationFailure.UntrustedIssuer, outcome.ClientSaw!.Failure);
        Assert.False(outcome.Echoed);
    }

    [Fact]
    public async Task Handshake_CertificatesLoadedFromPemFiles_Succeeds()
    {
        using var dir = new TempDirectory();
        using (X509Certificate2 coordinator = _ca.IssueCoordinator([], [], Pki.LeafValidity))
        using (X509Certificate2 silo = _ca.IssueSilo(SiloId.Parse("silo-5"), Pki.LeafValidity))
        {
            CertificateStore.WriteCertificate(dir.File("coordinator.pem"), coordinator);
            CertificateStore.WritePrivateKey(dir.File("coordinator.key.pem"), coordinator);
            CertificateStore.WriteCertificate(dir.File("silo.pem"), silo);
            CertificateStore.WritePrivateKey(dir.File("silo.key.pem"), silo);
        }

        using X509Certificate2 loadedCoordinator = CertificateStore.LoadCertificateWithKey(dir.File("coordinator.pem"), dir.File("coordinator.key.pem"));
        using X509Certificate2 loadedSilo = CertificateStore.LoadCertificateWithKey(dir.File("silo.pem"), dir.File("silo.key.pem"));

        Outcome outcome = await RunAsync(loadedCoordinator, loadedSilo, "localhost");

        Assert.Null(outcome.ServerError);
        Assert.True(outcome.Echoed);
        Assert.Equal(SiloId.Parse("silo-5"), outcome.ServerSaw!.SiloId);
    }

    private async Task<Outcome> RunAsync(X509Certificate2 serverCertificate, X509Certificate2? clientCertificate, string targetHost)
    {
        using var cts = new CancellationTokenSource(Timeout);
        CancellationToken ct = cts.Token;
        var serverValidator = new PeerCertificateValidator(_ca.Certificate, _time);
        PeerValidationResult? serverSaw = null;
        PeerValidationResult? clientSaw = null;

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Task<(Exception? Error, SslProtocols Protocol)> server = Task.Run(async () =>
        {
            try
            {
                using TcpClient accepted = await listener.AcceptTcpClientAsync(ct);
                await using var ssl = new SslStream(accepted.GetStream());
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = SslStreamCertificateContext.Create(serverCertificate, additionalCertificates: null, offline: true),
                        ClientCertificateRequired = true,
                        EnabledSslProtocols = SslProtocols.Tls13,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = serverValidator.CreateSiloCallback(r => serverSaw = r),
                    },
                    ct);
                byte[] buffer = new byte[1];
                int read = await ssl.ReadAsync(buffer, ct);
                await ssl.WriteAsync(buffer.AsMemory(0, read), ct);
                await ssl.FlushAsync(ct);
                return ((Exception?)null, ssl.SslProtocol);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
            {
                return (ex, SslProtocols.None);
            }
        });

        Exception? clientError = null;
        bool echoed = false;
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
            await using var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = targetHost,
                    ClientCertificateContext = clientCertificate is null
                        ? null
                        : SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null, offline: true),
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = PeerCertificateValidator.CreateCoordinatorCallback(_ca.Certificate, _time, r => clientSaw = r),
                },
                ct);

            // With TLS 1.3 the server judges the client certificate after the client has finished its side of the
            // handshake, so a refusal shows up here, on the first read.
            await ssl.WriteAsync(new byte[] { 42 }, ct);
            await ssl.FlushAsync(ct);
            byte[] buffer = new byte[1];
            int read = await ssl.ReadAsync(buffer, ct);
            echoed = read == 1 && buffer[0] == 42;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException)
        {
            clientError = ex;
        }

        (Exception? serverError, SslProtocols protocol) = await server.WaitAsync(Timeout, CancellationToken.None);
        return new Outcome(serverError, clientError, protocol, echoed, serverSaw, clientSaw);
    }

    private sealed record Outcome(
        Exception? ServerError,
        Exception? ClientError,
        SslProtocols Protocol,
        bool Echoed,
        PeerValidationResult? ServerSaw,
        PeerValidationResult? ClientSaw);
}
