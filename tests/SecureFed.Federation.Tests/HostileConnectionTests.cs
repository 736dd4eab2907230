using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Xunit.Abstractions;
using SecureFed.Contracts;
using SecureFed.Contracts.V1;
using SecureFed.Coordinator;
using Stage = SecureFed.Protocol.Stage;

namespace SecureFed.Federation.Tests;

/// <summary>
/// Hostile connections through the real gRPC service on loopback (issue 12, items 4-8 and 10): a member that never
/// reads, attacker strings, undecodable frames, idle connections and streams, health under aborts,
/// and the last message of a federation.
/// </summary>
[Collection(MemoryMeasured.Name)]
public sealed class HostileConnectionTests(ITestOutputHelper output)
{
    private const int Mib = 1024 * 1024;

    /// <summary>A late plan decision (round 0 has always closed): the coordinator answers each with a notice and discards it.</summary>
    private static AgentMessage LateDecision() => new()
    {
        Header = DomainMapping.Header("test-federation", 0, Stage.Plan),
        PlanDecision = new PlanDecision { Accepted = true },
    };

    /// <summary>
    /// Options under which no round starts (three silos expected, at most one connects), so every message is late; the
    /// join timeout outlasts the test, since the coordinator stops when MinSilos have not come by then.
    /// </summary>
    private static CoordinatorOptions Idle(TestFederation fed, ConnectionLimits limits) =>
        fed.Options(rounds: 1, minSilos: 3) with { Limits = limits, JoinTimeout = TimeSpan.FromMinutes(10) };

    private static long ManagedBytes() => GC.GetTotalMemory(forceFullCollection: true);

    private static long WorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    [Fact]
    public async Task Session_MemberNeverReadsItsStream_OutboxStaysBoundedAndStreamEndsResourceExhausted()
    {
        await using var fed = new TestFederation(3);
        // Notices unlimited here, so only the outbox bound stands between the flood and the coordinator's memory.
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits { MaxSessionOutboxBytes = Mib, NoticesPerMinute = 1_000_000 }));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        await peer.SendAsync(ScriptedPeer.Hello("silo-1"));

        var managedBefore = ManagedBytes();
        var workingBefore = WorkingSet();
        const int flood = 300_000; // unbounded, the issue measured +112 MB for this many
        var sent = 0;
        try
        {
            for (; sent < flood; sent++)
            {
                await peer.SendAsync(LateDecision()).WaitAsync(TestFederation.Timeout);
            }
        }
        catch (RpcException)
        {
            // The coordinator ended the stream: what we measure below is what it kept.
        }
        catch (InvalidOperationException)
        {
            // The call completed while we were writing.
        }
        catch (IOException)
        {
            // The coordinator reset the stream under our write.
        }

        var managedDelta = ManagedBytes() - managedBefore;
        var workingDelta = WorkingSet() - workingBefore;
        output.WriteLine($"sent {sent} late messages without reading: managed heap {managedDelta / (double)Mib:F1} MiB, working set {workingDelta / (double)Mib:F1} MiB");
        var status = await peer.ReadToEndAsync();

        // The member reads nothing, so no trailer can reach it: the stream is reset with ENHANCE_YOUR_CALM, which a gRPC
        // client reports as RESOURCE_EXHAUSTED; the coordinator's log names the silo and the limit.
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.True(sent < flood, "the coordinator never ended the stream of a member that does not read");
        Assert.Contains(fed.Logs, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("silo-1 does not read its stream", StringComparison.Ordinal));
        // The 1 MiB outbox, HTTP/2 windows and buffers: generous, and far below the unbounded cost of the flood.
        Assert.InRange(managedDelta, long.MinValue, 24L * Mib);
    }

    [Fact]
    public async Task Notices_LateMessageFlood_AtMostTheLimitPerMinuteAreSent()
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits { NoticesPerMinute = 25 }));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        await peer.SendAsync(ScriptedPeer.Hello("silo-1"));
        await peer.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);
        for (var i = 0; i < 400; i++)
        {
            await peer.SendAsync(LateDecision());
        }

        await peer.SendAsync(ScriptedPeer.Hello("silo-1")); // a violation ends the stream after the notices above
        var notices = 0;
        var status = await peer.ReadToEndAsync(m =>
        {
            if (m.BodyCase == CoordinatorMessage.BodyOneofCase.Notice)
            {
                notices++;
            }
        });

        Assert.Equal(StatusCode.FailedPrecondition, status.StatusCode);
        Assert.InRange(notices, 1, 25);
        await WaitForLogAsync(fed, "silo-1: 375 notices over the limit of 25 per minute were not sent");
    }

    [Fact]
    public async Task PlanRefusal_HugeReasonWithControlCharacters_LoggedAndStoredAsOneBoundedLine()
    {
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 2));
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        fed.StartAgent("silo-2", new FakeTrainer(3f));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-3"]);
        await peer.SendAsync(ScriptedPeer.Hello("silo-3"));
        var plan = await peer.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.RoundPlan);
        // Near the 64 KiB message limit of the test coordinator: forged log lines, a bidi override and a terminal escape.
        var reason = "no\r\n2026-01-01 Critical forged line\u202e\u001b[2J" + new string('r', 60_000);
        await peer.SendAsync(new AgentMessage
        {
            Header = DomainMapping.Header("test-federation", (long)plan.Header.Round, Stage.Plan),
            PlanDecision = new PlanDecision { Accepted = false, Reason = reason },
        });

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);

        Assert.Equal(1, outcome.Rounds.Single().Refused);
        var refused = Assert.Single(fed.Logs, l => l.Contains("refused the plan", StringComparison.Ordinal));
        Assert.Contains("no  2026-01-01 Critical forged line  [2J", refused, StringComparison.Ordinal);
        Assert.Contains("rrr...", refused, StringComparison.Ordinal);
        Assert.All(fed.Logs, l => Assert.True(l.Length < 2_000, $"a log line of {l.Length} characters"));
        Assert.All(fed.Logs, l => Assert.DoesNotContain(l, ch => char.IsControl(ch) || ch == '\u202e'));
        var stored = Assert.Single(fed.Inbound, m => m.Message.BodyCase == AgentMessage.BodyOneofCase.PlanDecision && m.SiloId == "silo-3");
        Assert.Equal(Identity.PeerText.DefaultMaxLength, stored.Message.PlanDecision.Reason.Length);
    }

    [Fact]
    public async Task Hello_LongFederationIdWithNewline_EchoedAndLoggedBounded()
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits()));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        var id = "evil\nfederation" + new string('f', 3_000);

        await peer.SendAsync(ScriptedPeer.Hello("silo-1", federationId: id));
        var status = await peer.ReadToEndAsync();

        Assert.Equal(StatusCode.FailedPrecondition, status.StatusCode);
        Assert.Contains("not 'evil federation", status.Detail, StringComparison.Ordinal);
        Assert.InRange(status.Detail.Length, 1, 200);
        Assert.DoesNotContain(status.Detail, char.IsControl);
        var line = Assert.Single(fed.Logs, l => l.Contains("broke the protocol", StringComparison.Ordinal));
        Assert.InRange(line.Length, 1, 400);
        Assert.DoesNotContain(line, char.IsControl);
    }

    [Fact]
    public void FileLogger_PeerTextWithNewlines_WritesOneBoundedLine()
    {
        var path = Path.Combine(Path.GetTempPath(), $"securefed-log-{Guid.NewGuid():N}.log");
        try
        {
            using (var provider = new Hosting.Internal.FileLoggerProvider(path, Microsoft.Extensions.Logging.LogLevel.Information))
            {
                var logger = provider.CreateLogger("test");
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger, "peer said {Reason}", "a\nFAKE line\r" + new string('x', 100_000));
            }

            var lines = File.ReadAllLines(path);
            var line = Assert.Single(lines);
            Assert.Contains("peer said a FAKE line ", line, StringComparison.Ordinal);
            Assert.InRange(line.Length, 1, Hosting.Internal.FileLoggerProvider.MaxMessageLength + 100);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string, StatusCode> Frames => new()
    {
        { "undecodable-hello", StatusCode.InvalidArgument },
        { "undecodable-after-hello", StatusCode.InvalidArgument },
        { "length-prefix-ffffffff", StatusCode.ResourceExhausted },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public async Task Connect_MalformedFrame_ClearStatusNamingTheSiloAndNoStackTrace(string kind, StatusCode expected)
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits()));
        var hello = Frame(ScriptedPeer.Hello("silo-1").ToByteArray());
        byte[] garbage = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        byte[] body = kind switch
        {
            "undecodable-hello" => Frame(garbage),
            "undecodable-after-hello" => [.. hello, .. Frame(garbage)],
            "length-prefix-ffffffff" => [.. hello, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var (status, detail) = await RawConnectAsync(fed, fed.Pki.Silos["silo-1"], body);

        Assert.Equal(expected, status);
        Assert.DoesNotContain("Exception", detail, StringComparison.Ordinal);
        var line = await WaitForLogAsync(fed, "silo 'silo-1' sent a malformed message");
        Assert.Contains(expected.ToString(), line, StringComparison.Ordinal);
        Assert.DoesNotContain(fed.Logs, l => l.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connect_NoHelloWithinTheDeadline_DeadlineExceededNamingTheSilo()
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits { HelloTimeout = TimeSpan.FromSeconds(1) }));
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);

        var status = await peer.ReadToEndAsync(); // the peer opens the stream and never sends anything

        Assert.Equal(StatusCode.DeadlineExceeded, status.StatusCode);
        Assert.Contains("Hello", status.Detail, StringComparison.Ordinal);
        Assert.Contains(fed.Logs, l => l.Contains("Silo silo-1 sent no Hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connections_ThousandIdleTlsConnections_AtMostTheLimitHeldAndAllClosedByTheServer()
    {
        const int attempts = 1_000;
        const int limit = 40;
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits
        {
            MaxConnections = limit,
            IdleConnectionTimeout = TimeSpan.FromSeconds(2),
            HandshakeTimeout = TimeSpan.FromSeconds(2),
        }));
        var managedBefore = ManagedBytes();
        var workingBefore = WorkingSet();

        // Each opens TCP, completes TLS (ALPN h2, no client certificate) if the server lets it, and then sends nothing.
        var connections = await Task.WhenAll(Enumerable.Range(0, attempts).Select(_ => IdleTlsAsync(coordinator.Address)));
        var held = connections.Where(c => c is not null).Select(c => c!).ToList();
        var managedDelta = ManagedBytes() - managedBefore;
        var workingDelta = WorkingSet() - workingBefore;
        output.WriteLine($"{attempts} idle TLS connections attempted, {held.Count} completed the handshake: managed heap {managedDelta / (double)Mib:F1} MiB, working set {workingDelta / (double)Mib:F1} MiB");

        // Every held connection is closed by the server (idle or preface timeout): each read ends.
        var closed = await Task.WhenAll(held.Select(ClosedByServerAsync)).WaitAsync(TestFederation.Timeout);

        Assert.InRange(held.Count, 1, limit);
        Assert.All(closed, Assert.True);
        Assert.InRange(managedDelta, long.MinValue, 64L * Mib);
        foreach (var c in held)
        {
            await c.DisposeAsync();
        }

        // The limits cost nothing to a member: a silo still connects and is welcomed.
        await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-1"]);
        await peer.SendAsync(ScriptedPeer.Hello("silo-1"));
        await peer.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.Welcome);
    }

    [Fact]
    public async Task HealthWatch_MoreThanTheLimit_RefusedWithResourceExhausted()
    {
        await using var fed = new TestFederation(3);
        await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits { MaxHealthWatches = 2 }));
        using var channel = fed.RawChannel(null);
        var client = new Health.HealthClient(channel);
        using var cts = new CancellationTokenSource(TestFederation.Timeout);
        var first = client.Watch(new HealthCheckRequest(), cancellationToken: cts.Token);
        var second = client.Watch(new HealthCheckRequest(), cancellationToken: cts.Token);
        Assert.True(await first.ResponseStream.MoveNext(cts.Token));
        Assert.True(await second.ResponseStream.MoveNext(cts.Token));

        using var third = client.Watch(new HealthCheckRequest(), cancellationToken: cts.Token);
        var refused = await Assert.ThrowsAsync<RpcException>(() => third.ResponseStream.MoveNext(cts.Token));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("MaxHealthWatches", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, first.ResponseStream.Current.Status);
        first.Dispose();
        second.Dispose();
    }

    [Fact]
    public async Task Health_ConsecutiveAborts_NotServingWithReasonAndServingAgainAfterACompletedRound()
    {
        await using var fed = new TestFederation(2);
        var options = fed.Options(rounds: 1, minSilos: 2) with { MaxConsecutiveAborts = 5, Limits = new ConnectionLimits { UnhealthyAfterAborts = 2 } };
        var coordinator = await fed.StartCoordinatorAsync(options);
        using var aborted = new SemaphoreSlim(0);
        coordinator.RoundFinished += r =>
        {
            if (!r.Completed)
            {
                aborted.Release();
            }
        };
        fed.StartAgent("silo-1", new FakeTrainer(1f));
        using var channel = fed.RawChannel(null);
        var health = new Health.HealthClient(channel);
        var servingAtStart = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Status;

        // The scripted silo accepts two attempts and leaves (each aborts: one contribution is below MinSilos; leaving is
        // no fault, and a refusal would be left out of the retries), then comes back and takes part.
        HealthCheckResponse.Types.ServingStatus afterAborts = default;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await using var peer = new ScriptedPeer(fed, fed.Pki.Silos["silo-2"]);
            await peer.SendAsync(ScriptedPeer.Hello("silo-2"));
            var plan = await peer.ReadUntilAsync(CoordinatorMessage.BodyOneofCase.RoundPlan);
            var round = (long)plan.Header.Round;
            await peer.SendAsync(ScriptedPeer.Accept(round));
            if (attempt < 3)
            {
                await peer.DisposeAsync();
                Assert.True(await aborted.WaitAsync(TestFederation.Timeout));
                if (attempt == 2)
                {
                    afterAborts = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Status;
                }

                continue;
            }

            await peer.SendAsync(ScriptedPeer.Update(round, 0, fed.Parameters, [3f, 3f, 3f, 3f], last: false));
            await peer.SendAsync(ScriptedPeer.Update(round, 4, fed.Parameters, [3f, 3f, 3f, 3f], last: true));
            await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        }

        var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
        var servingAfterCompletion = (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Status;

        Assert.Equal(1, outcome.RoundsCompleted);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, servingAtStart);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, afterAborts);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, servingAfterCompletion);
    }

    [Fact]
    public async Task Completion_ManyShortFederationsStoppedAtOnce_EveryAgentSawFederationComplete()
    {
        // The coordinator command disposes its host as soon as the federation completes; each agent must still get
        // FederationComplete (an agent that misses it reconnects for ever, and its run below never ends).
        for (var run = 0; run < 8; run++)
        {
            await using var fed = new TestFederation(3);
            var coordinator = await fed.StartCoordinatorAsync(fed.Options(rounds: 1, minSilos: 3));
            for (var i = 1; i <= 3; i++)
            {
                fed.StartAgent($"silo-{i}", new FakeTrainer(i));
            }

            var outcome = await coordinator.Completion.WaitAsync(TestFederation.Timeout);
            await coordinator.DisposeAsync();
            var agents = await Task.WhenAll(fed.AgentRuns).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.All(agents, a => Assert.Equal(outcome.FinalModelHash, a.FinalModelHash));
            Assert.All(agents, a => Assert.Equal(1, a.RoundsCompleted));
        }
    }

    [Fact]
    public async Task Limits_MaxConnectionsBelowTheSilosExpected_RefusedNamingTheKey()
    {
        // 300 silos with the default 256 connections: the bench found the coordinator waiting for 44 silos it could
        // never admit, until the join timeout; now the configuration is refused before it starts.
        await using var fed = new TestFederation(3);
        var options = fed.Options(rounds: 1, minSilos: 2) with { TargetSilos = 300 };
        var ex = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains("Limits.MaxConnections", ex.Message, StringComparison.Ordinal);
        Assert.Contains("300", ex.Message, StringComparison.Ordinal);
        var raised = options with { Limits = new ConnectionLimits { MaxConnections = 316 } };
        Assert.Same(raised, raised.Validate());
    }

    [Fact]
    public async Task Limits_ReceiveWindow_IsTheWindowTheServerGrantsEachConnectionAndStream()
    {
        const int window = 3 * Mib;
        await using var fed = new TestFederation(3);
        var coordinator = await fed.StartCoordinatorAsync(Idle(fed, new ConnectionLimits { ReceiveWindowBytes = window }));
        await using var tls = await IdleTlsAsync(coordinator.Address) ?? throw new InvalidOperationException("TLS handshake refused");

        // The client preface and an empty SETTINGS frame; then the server's first frames: its SETTINGS (the stream
        // window, id 0x4) and a WINDOW_UPDATE of the connection (stream 0) from the protocol's 65535 up to its own.
        await tls.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await tls.WriteAsync(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 });
        uint? streamWindow = null;
        uint? connectionIncrement = null;
        using var cts = new CancellationTokenSource(TestFederation.Timeout);
        while (streamWindow is null || connectionIncrement is null)
        {
            var header = new byte[9];
            await tls.ReadExactlyAsync(header, cts.Token);
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var (type, flags, stream) = (header[3], header[4], BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF);
            var payload = new byte[length];
            await tls.ReadExactlyAsync(payload, cts.Token);
            if (type == 4 && (flags & 1) == 0)
            {
                for (var i = 0; i + 6 <= length; i += 6)
                {
                    if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)) == 4)
                    {
                        streamWindow = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
                    }
                }

                streamWindow ??= 65_535; // not sent: the protocol's default
            }
            else if (type == 8 && stream == 0)
            {
                connectionIncrement = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
            }
        }

        Assert.Equal((uint)window, streamWindow);
        Assert.Equal((uint)(window - 65_535), connectionIncrement);
    }

    [Fact]
    public async Task Limits_FromConfigFile_BoundAndBadValuesNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"securefed-limits-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{ "Coordinator": { "Limits": { "MaxConnections": 64, "HelloTimeoutSeconds": 2.5, "MaxSessionOutboxBytes": 16777216, "ReceiveWindowBytes": 2097152 } } }""");
            var limits = Hosting.CoordinatorConfig.Load(path).Limits.ToLimits();

            Assert.Equal(64, limits.MaxConnections);
            Assert.Equal(TimeSpan.FromSeconds(2.5), limits.HelloTimeout);
            Assert.Equal(16 * Mib, limits.MaxSessionOutboxBytes);
            Assert.Equal(2 * Mib, limits.ReceiveWindowBytes);
            Assert.Equal(new ConnectionLimits().NoticesPerMinute, limits.NoticesPerMinute);
        }
        finally
        {
            File.Delete(path);
        }

        var seconds = Assert.Throws<ArgumentException>(() => new Hosting.CoordinatorLimitsConfig { DrainTimeoutSeconds = -1 }.ToLimits());
        Assert.Contains("Limits.DrainTimeoutSeconds = -1", seconds.Message, StringComparison.Ordinal);
        await using var fed = new TestFederation(1);
        var options = fed.Options(rounds: 1, minSilos: 1) with { Limits = new ConnectionLimits { MaxSessionOutboxBytes = 1000 } };
        var outbox = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("Limits.MaxSessionOutboxBytes = 1000", outbox.Message, StringComparison.Ordinal);
        var window = Assert.Throws<ArgumentException>((options with { Limits = new ConnectionLimits { ReceiveWindowBytes = 1000 } }).Validate);
        Assert.Contains("Limits.ReceiveWindowBytes = 1000", window.Message, StringComparison.Ordinal);
    }

    private static async Task<string> WaitForLogAsync(TestFederation fed, string fragment)
    {
        using var cts = new CancellationTokenSource(TestFederation.Timeout);
        while (true)
        {
            if (fed.Logs.FirstOrDefault(l => l.Contains(fragment, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            // Polling a log is the one place a short wait is the synchronisation: the line is written after the status.
            await Task.Delay(20, cts.Token);
        }
    }

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Posts raw gRPC frames to Federation/Connect over HTTP/2 with a client certificate; returns grpc-status and grpc-message.</summary>
    private static async Task<(StatusCode Status, string Detail)> RawConnectAsync(TestFederation fed, X509Certificate2 certificate, byte[] body)
    {
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [certificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        };
        using var http = new HttpClient(handler) { Timeout = TestFederation.Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fed.Coordinator!.Address, "/securefed.v1.Federation/Connect"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await response.Content.ReadAsByteArrayAsync();
        static string? One(HttpHeaders h, string name) => h.TryGetValues(name, out var v) ? v.First() : null;
        var status = One(response.TrailingHeaders, "grpc-status") ?? One(response.Headers, "grpc-status") ?? "-1";
        var detail = One(response.TrailingHeaders, "grpc-message") ?? One(response.Headers, "grpc-message") ?? "";
        return ((StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(detail));
    }

    /// <summary>A TLS connection (ALPN h2) that sends nothing after the handshake; null when the server closed it first.</summary>
    private static async Task<SslStream?> IdleTlsAsync(Uri address)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, address.Port);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }).WaitAsync(TestFederation.Timeout);
            return tls;
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException)
        {
            tcp.Dispose();
            return null;
        }
    }

    /// <summary>Reads until the server closes the connection (whatever it sent first, e.g. its HTTP/2 settings or GOAWAY).</summary>
    private static async Task<bool> ClosedByServerAsync(SslStream tls)
    {
        var buffer = new byte[4096];
        try
        {
            while (await tls.ReadAsync(buffer) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true; // reset by the server
        }
    }
}

/// <summary>
/// Tests that measure the process's memory run alone (GC.GetTotalMemory and the working set are process-wide, so a
/// test running beside them would be measured too).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasured
{
    public const string Name = "memory measured";
}
