using Grpc.Core;
using SecureFed.Protocol;

namespace SecureFed.Contracts;

/// <summary>The one place where SecureFed's fault kinds become gRPC status codes.</summary>
public static class StatusMapping
{
    /// <summary>The status code for a fault kind.</summary>
    public static StatusCode ToStatusCode(FaultKind kind) => kind switch
    {
        FaultKind.PermissionDenied => StatusCode.PermissionDenied,
        FaultKind.FailedPrecondition => StatusCode.FailedPrecondition,
        FaultKind.InvalidArgument => StatusCode.InvalidArgument,
        FaultKind.ResourceExhausted => StatusCode.ResourceExhausted,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown fault kind"),
    };

    /// <summary>An <see cref="RpcException"/> carrying the fault's status and message.</summary>
    public static RpcException ToRpcException(SecureFedException fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        return new RpcException(new Status(ToStatusCode(fault.Kind), fault.Message));
    }
}
