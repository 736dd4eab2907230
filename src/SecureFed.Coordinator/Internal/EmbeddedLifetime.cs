using Microsoft.Extensions.Hosting;

namespace SecureFed.Coordinator.Internal;

/// <summary>
/// A host lifetime that listens to no signal: the coordinator is started and stopped by its owner
/// (<see cref="CoordinatorHost.StartAsync"/>, <see cref="CoordinatorHost.StopAsync(string?)"/>), which decides what
/// Ctrl-C and SIGTERM mean. The default console lifetime would take both signals and stop nothing.
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
