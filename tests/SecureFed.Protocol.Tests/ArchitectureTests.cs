using System.Reflection;
using SecureFed.Protocol.SecureAggregation;

namespace SecureFed.Protocol.Tests;

public class ArchitectureTests
{
    private static readonly Assembly ProtocolAssembly = typeof(SecAggClient).Assembly;

    [Fact]
    public void SecureAggregationInternalTypes_AreNotPublicAndAreSealedOrStatic()
    {
        var types = ProtocolAssembly.GetTypes()
            .Where(t => t.Namespace == "SecureFed.Protocol.SecureAggregation.Internal" && !t.IsNested
                && t.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null)
            .ToList();
        Assert.NotEmpty(types);
        Assert.All(types, t =>
        {
            Assert.False(t.IsPublic, t.FullName);
            Assert.True(t.IsSealed, t.FullName);
        });
    }

    [Fact]
    public void ProtocolAssembly_ReferencesNoTransportTrainingOrTelemetrySdk()
    {
        string[] forbidden = ["Grpc", "Microsoft.AspNetCore", "TorchSharp", "OpenTelemetry"];
        Assert.All(ProtocolAssembly.GetReferencedAssemblies(), r =>
            Assert.DoesNotContain(forbidden, f => r.Name!.StartsWith(f, StringComparison.Ordinal)));
    }

    [Fact]
    public void ParametersAndRingVector_OverrideToString()
    {
        Assert.Equal(typeof(SecAggParameters), typeof(SecAggParameters).GetMethod(nameof(ToString), Type.EmptyTypes)!.DeclaringType);
        Assert.Equal(typeof(RingVector), typeof(RingVector).GetMethod(nameof(ToString), Type.EmptyTypes)!.DeclaringType);
    }
}
