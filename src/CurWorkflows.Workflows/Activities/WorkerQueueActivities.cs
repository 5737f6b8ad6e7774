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

    /// <summary>This host's liveness queue: polled by a worker of its own, so it answers while the host queue is busy.</summary>
    public string LivenessName => LivenessQueueOf(Name);

    /// <summary>The liveness queue of a host queue (the workflow derives it from the name alone, deterministically).</summary>
    public static string LivenessQueueOf(string hostQueue) => hostQueue + "-alive";
}

public sealed class WorkerQueueActivities(WorkerTaskQueue queue)
{
    /// <summary>Runs on the shared queue: whichever worker picks it up names its own host queue.</summary>
    [Activity(ActivityNames.GetWorkerTaskQueue)]
    public string GetWorkerTaskQueue() => queue.Name;
}

public sealed class WorkerLivenessActivities(WorkerTaskQueue queue)
{
    /// <summary>
    /// Runs on this host's liveness queue: an answer means the host is up and connected, so a task waiting on its busy
    /// host queue should go on waiting rather than start the period over elsewhere.
    /// </summary>
    [Activity(ActivityNames.ConfirmWorkerAlive)]
    public string ConfirmWorkerAlive() => queue.Name;
}
