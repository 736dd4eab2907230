using System.Diagnostics;
using System.Net;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Identity;

namespace SecureFed.Hosting.Internal;

/// <summary>
/// The ceiling the plain ingest is measured against: what the coordinator's transport alone carries on this machine.
/// N clients built as agents build theirs (<see cref="AgentChannel"/>, mutual TLS 1.3) each stream the bytes of one
/// update, in messages of one upload chunk, to a listener set up as the coordinator's (<see cref="CoordinatorTransport"/>,
/// the same limits) whose method only counts what arrives: no protobuf parse, no copy, no check. The rate is taken as
/// the plain ingest is: the bytes over the time from the first message's arrival at the server to the last's. Both
/// ends run in this process, as the agents do by default.
/// </summary>
internal static class TransportProbe
{
    /// <summary>What one probe measured.</summary>
    /// <param name="Connections">Clients, each on its own connection.</param>
    /// <param name="BytesPerConnection">Bytes each streamed per pass: one update's values, 4 bytes each.</param>
    /// <param name="MessageBytes">Bytes a message: one upload chunk's values.</param>
    /// <param name="MegabytesPerSecond">Megabytes (10^6) a second from the first message's arrival to the last's: the median of the passes
    /// (null when no pass had two messages apart in time).</param>
    /// <param name="Passes">Each measured pass's rate, in order.</param>
    public sealed record Result(int Connections, long BytesPerConnection, int MessageBytes, double? MegabytesPerSecond, IReadOnlyList<double> Passes);

    /// <summary>One warm-up pass, then <paramref name="passes"/> measured ones over the same connections.</summary>
    public static async Task<Result> MeasureAsync(int connections, long bytesPerConnection, int messageBytes, ConnectionLimits limits, int passes, CancellationToken ct)
    {
        var time = TimeProvider.System;
        using var ca = ConsortiumCa.Create("securefed-bench-transport", time, TimeSpan.FromDays(1));
        using var serverCert = ca.IssueCoordinator(["localhost"], [IPAddress.Loopback], TimeSpan.FromDays(1));
        var certs = Enumerable.Range(1, connections).Select(i => ca.IssueSilo(SiloId.Parse($"silo-{i}"), TimeSpan.FromDays(1))).ToArray();
        var builder = CoordinatorTransport.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => CoordinatorTransport.Configure(k, limits, IPAddress.Loopback, 0, serverCert));
        var maxMessage = messageBytes + 4096;
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = maxMessage);
        var counter = new Counter();
        builder.Services.AddSingleton(counter);
        builder.Services.AddSingleton<IServiceMethodProvider<Sink>, SinkMethods>();
        await using var app = builder.Build();
        app.MapGrpcService<Sink>();
        await app.StartAsync(ct);
        var channels = new List<Grpc.Net.Client.GrpcChannel>();
        try
        {
            var address = CoordinatorTransport.ClientAddress(app);
            channels.AddRange(certs.Select(c => AgentChannel.Create(address, c, ca.Certificate, maxMessage)));
            var payload = new byte[messageBytes];
            Random.Shared.NextBytes(payload);
            var rates = new List<double>();
            for (var pass = 0; pass <= passes; pass++)
            {
                counter.Reset();
                await Task.WhenAll(channels.Select(ch => Task.Run(() => SendAsync(ch, counter.Upload, payload, bytesPerConnection, ct), ct)));
                var expected = connections * bytesPerConnection;
                var received = Interlocked.Read(ref counter.Bytes);
                if (received != expected)
                {
                    throw new InvalidOperationException($"the transport probe's server counted {received} bytes of the {expected} sent");
                }

                if (pass > 0 && counter.Window is { TotalSeconds: > 0 } window)
                {
                    rates.Add(Math.Round(expected / 1e6 / window.TotalSeconds, 1));
                }
            }

            var median = BenchStatistics.Median(rates) is { } m ? Math.Round(m, 1) : (double?)null;
            return new Result(connections, bytesPerConnection, messageBytes, median, rates);
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            foreach (var c in certs)
            {
                c.Dispose();
            }

            await app.StopAsync(CancellationToken.None);
        }
    }

    private static async Task SendAsync(Grpc.Net.Client.GrpcChannel channel, Method<byte[], byte[]> upload, byte[] payload, long bytes, CancellationToken ct)
    {
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(upload, null, new CallOptions(cancellationToken: ct));
        for (var sent = 0L; sent < bytes; sent += payload.Length)
        {
            var size = (int)Math.Min(payload.Length, bytes - sent);
            await call.RequestStream.WriteAsync(size == payload.Length ? payload : payload[..size], ct);
        }

        await call.RequestStream.CompleteAsync();
        await call;
    }

    /// <summary>One probe's method, the bytes its server has counted and when the first and the last message arrived.</summary>
    internal sealed class Counter
    {
        public long Bytes;
        private long _first;
        private long _last;

        public Counter() => Upload = new(
            MethodType.ClientStreaming,
            "securefed.bench.Transport",
            "Upload",
            // The server's deserializer counts the message's bytes where the gRPC layer holds them, and keeps nothing.
            new Marshaller<byte[]>((message, context) => context.Complete(message), context =>
            {
                var now = Stopwatch.GetTimestamp();
                Interlocked.CompareExchange(ref _first, now, 0);
                for (var last = Interlocked.Read(ref _last); now > last; last = Interlocked.Read(ref _last))
                {
                    if (Interlocked.CompareExchange(ref _last, now, last) == last)
                    {
                        break;
                    }
                }

                Interlocked.Add(ref Bytes, context.PayloadLength);
                return [];
            }),
            Marshallers.Create<byte[]>(static m => m, static b => b));

        public Method<byte[], byte[]> Upload { get; }

        /// <summary>From the first message's arrival to the last's (zero for one message).</summary>
        public TimeSpan Window => Stopwatch.GetElapsedTime(Interlocked.Read(ref _first), Interlocked.Read(ref _last));

        public void Reset()
        {
            Interlocked.Exchange(ref Bytes, 0);
            Interlocked.Exchange(ref _first, 0);
            Interlocked.Exchange(ref _last, 0);
        }
    }

    /// <summary>The probe's service: reads its stream to the end.</summary>
    internal sealed class Sink
    {
        public static async Task<byte[]> UploadAsync(IAsyncStreamReader<byte[]> requests, ServerCallContext context)
        {
            while (await requests.MoveNext(context.CancellationToken))
            {
            }

            return [];
        }
    }

    private sealed class SinkMethods(Counter counter) : IServiceMethodProvider<Sink>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Sink> context) =>
            context.AddClientStreamingMethod(counter.Upload, [], (_, requests, call) => Sink.UploadAsync(requests, call));
    }
}
