using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// Refuses to start a worker whose spool directory cannot be made or written: otherwise every download would fail, and
/// be retried for hours as a file error, while the host looked healthy.
/// </summary>
internal sealed class SpoolDirectoryCheck(IOptions<CollectionOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(options.Value.SpoolDirectory);
        var probe = Path.Combine(directory, $".write-probe-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"Collection:SpoolDirectory {directory} cannot be used: {e.Message} Give the worker a directory it can create and write.", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
