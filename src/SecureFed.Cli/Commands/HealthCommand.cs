using System.CommandLine;
using System.Net.Security;
using System.Security.Authentication;
using Grpc.Health.V1;
using Grpc.Net.Client;
using SecureFed.Identity;

namespace SecureFed.Cli.Commands;

/// <summary><c>securefed health</c>: asks a coordinator's gRPC health service (for container health checks).</summary>
internal static class HealthCommand
{
    public static Command Build()
    {
        var address = new Option<string>("--address") { Description = "Coordinator address, e.g. https://localhost:7443.", DefaultValueFactory = _ => "https://localhost:7443" };
        var ca = new Option<string>("--ca") { Description = "Consortium CA certificate (PEM) the coordinator's certificate must chain to.", Required = true };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for an answer.", DefaultValueFactory = _ => 5, CustomParser = NumberOptions.ParseDouble };
        var command = new Command("health", "Check that a coordinator is serving (grpc.health.v1 over TLS, validated against the consortium CA; no client certificate needed). Exit 0 when serving.")
        {
            address, ca, timeout,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            if (!Uri.TryCreate(parse.GetValue(address), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException($"--address '{parse.GetValue(address)}' is invalid: must be an https:// address");
            }

            using var root = CertificateStore.LoadCertificate(parse.GetValue(ca)!);
            var handler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = PeerCertificateValidator.CreateCoordinatorCallback(root, TimeProvider.System),
                },
            };
            using var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
            var reply = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(parse.GetValue(timeout)), cancellationToken: ct);
            parse.InvocationConfiguration.Output.WriteLine(reply.Status.ToString());
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }));
        return command;
    }
}
