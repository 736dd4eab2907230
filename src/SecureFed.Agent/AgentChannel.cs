using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using SecureFed.Identity;

namespace SecureFed.Agent;

/// <summary>
/// Builds the agent's outbound gRPC channel: HTTP/2 over TLS 1.3, presenting the silo certificate and
/// trusting only a coordinator certificate issued by the consortium CA (the system trust store is ignored).
/// </summary>
public static class AgentChannel
{
    /// <summary>Creates the channel. The caller disposes it.</summary>
    /// <param name="coordinator">The coordinator's https address.</param>
    /// <param name="siloCertificate">This silo's certificate with its key.</param>
    /// <param name="consortiumRoot">The consortium root, the only trust anchor.</param>
    /// <param name="maxMessageBytes">Largest gRPC message.</param>
    /// <param name="time">The clock certificates are judged at.</param>
    /// <param name="denyList">The consortium deny-list (null: none); a revoked coordinator certificate is refused.</param>
    /// <param name="keepAlive">HTTP/2 ping delay and timeout (null: 20 s and 10 s).</param>
    public static GrpcChannel Create(
        Uri coordinator, X509Certificate2 siloCertificate, X509Certificate2 consortiumRoot, int maxMessageBytes, TimeProvider? time = null, IDenyListSource? denyList = null,
        (TimeSpan Delay, TimeSpan Timeout)? keepAlive = null)
    {
        var (pingDelay, pingTimeout) = keepAlive ?? (TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(10));
        ArgumentNullException.ThrowIfNull(coordinator);
        ArgumentNullException.ThrowIfNull(siloCertificate);
        var validator = new PeerCertificateValidator(consortiumRoot, time ?? TimeProvider.System, new PeerRestrictions { DenyList = denyList });
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [siloCertificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    // Chain errors are expected (the consortium root is not in the system store); our validator
                    // decides. A name mismatch is never acceptable.
                    if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
                    {
                        return false;
                    }

                    using var cert = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return validator.ValidateCoordinator(cert).IsValid;
                },
            },
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingDelay = pingDelay,
            KeepAlivePingTimeout = pingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        };
        return GrpcChannel.ForAddress(coordinator, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = maxMessageBytes,
            MaxSendMessageSize = maxMessageBytes,
        });
    }
}
