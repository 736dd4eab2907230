using System.Threading.Channels;
using Grpc.Core;
using SecureFed.Contracts.V1;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// One connected agent's stream. Messages to the agent go through an outbox drained by a single writer,
/// because a gRPC response stream accepts one write at a time. Thread-safe.
/// </summary>
internal sealed class AgentSession
{
    private readonly Channel<CoordinatorMessage> _outbox = Channel.CreateUnbounded<CoordinatorMessage>(
        new UnboundedChannelOptions { SingleReader = true });

    private readonly CancellationTokenSource _abort = new();

    public AgentSession(string siloId, string fingerprint, byte[] certificateDer)
    {
        SiloId = siloId;
        Fingerprint = fingerprint;
        CertificateDer = certificateDer;
    }

    /// <summary>The client certificate (DER, public) this stream presented; forwarded to peers for secure aggregation.</summary>
    public byte[] CertificateDer { get; }

    public string SiloId { get; }

    public string Fingerprint { get; }

    /// <summary>Cancelled when the coordinator drops this session (replaced, shut down).</summary>
    public CancellationToken Aborted => _abort.Token;

    public bool TrySend(CoordinatorMessage message) => _outbox.Writer.TryWrite(message);

    /// <summary>No more messages; the writer finishes after draining.</summary>
    public void Complete() => _outbox.Writer.TryComplete();

    public void Abort()
    {
        _outbox.Writer.TryComplete();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already torn down
        }
    }

    public async Task RunWriterAsync(IServerStreamWriter<CoordinatorMessage> stream, CancellationToken cancellationToken)
    {
        await foreach (var message in _outbox.Reader.ReadAllAsync(cancellationToken))
        {
            await stream.WriteAsync(message, cancellationToken);
        }
    }
}
