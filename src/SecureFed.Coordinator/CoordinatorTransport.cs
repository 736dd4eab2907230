using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureFed.Coordinator;

/// <summary>
/// The coordinator's listener: HTTP/2 only over TLS 1.3, a client certificate asked for and judged per call, and
/// <see cref="ConnectionLimits"/> applied to every connection. One place, so the benchmark's bare-transport probe
/// listens exactly as the coordinator does.
/// </summary>
public static class CoordinatorTransport
{
    /// <summary>
    /// A host builder configured by its caller alone: the default sources (appsettings*.json in the working directory,
    /// ASPNETCORE_ and DOTNET_ variables) could re-point Kestrel behind the caller's options, and their file watcher
    /// read every change in that directory (a store or trace written there cost 5% of the coordinator's samples). No
    /// log providers either; the caller adds its own.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        return builder;
    }

    /// <summary>Sets <paramref name="kestrel"/>'s limits and its one listener on <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static void Configure(KestrelServerOptions kestrel, ConnectionLimits limits, IPAddress address, int port, X509Certificate2 serverCertificate)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(limits);
        kestrel.AddServerHeader = false;
        // What a connection may cost before it is authenticated: a bounded count of connections, each with a
        // bounded number of streams and deadlines for the handshake, the request headers and idling.
        kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
        kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
        kestrel.Limits.Http2.MaxStreamsPerConnection = limits.MaxStreamsPerConnection;
        kestrel.Limits.KeepAliveTimeout = limits.IdleConnectionTimeout;
        kestrel.Limits.RequestHeadersTimeout = limits.HandshakeTimeout;
        kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = 8 * 1024;
        // Pings find peers that vanished without closing (a half-open TCP connection holds its stream forever).
        // They also bound how long such a silo keeps its seat against its own restarted agent (SessionRegistry).
        kestrel.Limits.Http2.KeepAlivePingDelay = limits.KeepAlivePingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = limits.KeepAlivePingTimeout;
        // What a peer may send unread (ConnectionLimits.ReceiveWindowBytes): the connection's window is shared by its
        // streams, so it is never smaller than one stream's.
        kestrel.Limits.Http2.InitialConnectionWindowSize = limits.ReceiveWindowBytes;
        kestrel.Limits.Http2.InitialStreamWindowSize = limits.ReceiveWindowBytes;
        kestrel.Listen(address, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,
                SslProtocols = SslProtocols.Tls13,
                ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                // Accepted here, validated per call against the consortium CA only (FederationService).
                ClientCertificateValidation = static (_, _, _) => true,
                CheckCertificateRevocation = false,
                HandshakeTimeout = limits.HandshakeTimeout,
            });
        });
    }

    /// <summary>The address a started host listens at, as a client dials it (a wildcard bind becomes loopback).</summary>
    public static Uri ClientAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal));
    }
}
