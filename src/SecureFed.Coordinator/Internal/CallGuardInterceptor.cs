using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using SecureFed.Identity;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// Wraps every gRPC call the coordinator serves. A message the peer framed or encoded badly (bytes that are not the
/// method's protobuf message, a length prefix above what a message can be) is the peer's mistake, not a bug: it ends
/// the call with INVALID_ARGUMENT or RESOURCE_EXHAUSTED and one log line naming the silo (or the address of an
/// unauthenticated peer), instead of UNKNOWN and a stack trace. It also caps the anonymous grpc.health.v1 Watch
/// streams, which would otherwise stay open for as long as a stranger likes. Thread-safe.
/// </summary>
internal sealed class CallGuardInterceptor(CoordinatorOptions options, ILogger<CallGuardInterceptor> logger) : Interceptor
{
    private const string HealthWatch = "/grpc.health.v1.Health/Watch";
    private const string FrameworkTooLarge = "Received message exceeds the maximum configured message size.";
    private const string FrameworkLengthTooLarge = "Message too large";
    private int _watches;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (PeerFault(ex, context) is { } fault)
        {
            throw fault;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (PeerFault(ex, context) is { } fault)
        {
            throw fault;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var watch = string.Equals(context.Method, HealthWatch, StringComparison.Ordinal);
        if (watch && Interlocked.Increment(ref _watches) > options.Limits.MaxHealthWatches)
        {
            Interlocked.Decrement(ref _watches);
            Log.HealthWatchRefused(logger, Peer(context), options.Limits.MaxHealthWatches);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"too many health watches are open (Limits.MaxHealthWatches = {options.Limits.MaxHealthWatches}); use Check, or retry later"));
        }

        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (PeerFault(ex, context) is { } fault)
        {
            throw fault;
        }
        finally
        {
            if (watch)
            {
                Interlocked.Decrement(ref _watches);
            }
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (PeerFault(ex, context) is { } fault)
        {
            throw fault;
        }
    }

    /// <summary>The status for a fault of the peer's making, logged once; null for anything else (a bug keeps its trace).</summary>
    private RpcException? PeerFault(Exception ex, ServerCallContext context)
    {
        RpcException? fault = ex switch
        {
            InvalidProtocolBufferException => new(new Status(StatusCode.InvalidArgument, "a message could not be decoded: it is not a valid protobuf message of this method")),
            // grpc-dotnet's answer to a length prefix beyond 2^31 - 1 (0xFFFFFFFF included); other IOExceptions are the transport's.
            IOException io when io.Message.StartsWith(FrameworkLengthTooLarge, StringComparison.Ordinal) => new(new Status(StatusCode.ResourceExhausted, $"a message's length prefix exceeds the limit MaxMessageBytes = {options.MaxMessageBytes}")),
            RpcException { StatusCode: StatusCode.ResourceExhausted } r when string.Equals(r.Status.Detail, FrameworkTooLarge, StringComparison.Ordinal)
                => new(new Status(StatusCode.ResourceExhausted, $"a message exceeds the limit MaxMessageBytes = {options.MaxMessageBytes}")),
            _ => null,
        };
        if (fault is not null)
        {
            Log.MalformedMessage(logger, Peer(context), context.Method, fault.StatusCode.ToString(), fault.Status.Detail);
        }

        return fault;
    }

    private static string Peer(ServerCallContext context) =>
        context.UserState.TryGetValue(FederationService.SiloKey, out var silo) && silo is string id
            ? $"silo '{id}'"
            : $"an unauthenticated peer at {PeerText.Bound(context.Peer, 80)}";
}
