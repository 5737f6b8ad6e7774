using System.Security.Cryptography;
using System.Text;
using Temporalio.Activities;

namespace CurWorkflows.Workflows.Activities;

/// <summary>
/// The task queue that only this host's workers poll. It is derived from the machine name and the spool directory, so a
/// worker restarted on the same host (same spool) takes over its predecessor's files and parse checkpoints.
/// </summary>
public sealed class WorkerTaskQueue
{
    public WorkerTaskQueue(string sharedTaskQueue, string spoolDirectory)
    {
        var spool = Path.GetFullPath(spoolDirectory);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(spool)))[..8];
        Name = $"{sharedTaskQueue}-host-{Environment.MachineName}-{hash}";
    }

    public string Name { get; }
}

public sealed class WorkerQueueActivities(WorkerTaskQueue queue)
{
    /// <summary>Runs on the shared queue: whichever worker picks it up names its own host queue.</summary>
    [Activity(ActivityNames.GetWorkerTaskQueue)]
    public string GetWorkerTaskQueue() => queue.Name;
}
