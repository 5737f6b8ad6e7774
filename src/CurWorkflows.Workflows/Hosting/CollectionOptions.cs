using System.ComponentModel.DataAnnotations;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>Configuration section <c>Collection</c>.</summary>
public sealed class CollectionOptions
{
    public const string SectionName = "Collection";

    /// <summary>Time between collections of one integration (from the start of the previous run).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Optional cron expression (UTC, 5 or 6 fields) pinning the collection times; replaces the interval.</summary>
    public string? Cron { get; set; }

    /// <summary>Where workers keep downloaded report files and parse checkpoints.</summary>
    [Required]
    public string SpoolDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "curworkflows-spool");

    [Range(1, 64)]
    public int MaxParallelFiles { get; set; } = 2;

    /// <summary>How many past months the first collection of an integration reads.</summary>
    [Range(0, 120)]
    public int BackfillMonths { get; set; } = 12;

    /// <summary>Rows between parse checkpoints (state saved to the spool directory); a resumed parse re-reads fewer
    /// rows than this. 0: by time only (<see cref="CheckpointInterval"/>). Each save writes all aggregates so far.</summary>
    [Range(0, 100_000_000)]
    public long CheckpointEveryRows { get; set; }

    /// <summary>Time between parse checkpoints; a resumed parse re-reads at most about this much parsing time.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a task on a worker's own queue (its spooled files and checkpoints) waits for that worker before the
    /// workflow asks the host, on its liveness queue, whether it is up. A host that answers is busy with other work, and
    /// the task waits again; one that does not answer (within this time, at least 10 s and at most a minute) counts as
    /// gone, and the period starts over on another worker, downloading again. Long enough for a worker to restart and
    /// take over its files.
    /// </summary>
    public TimeSpan WorkerQueueTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often each worker host deletes what runs left in its spool directory (0 turns it off): the files of runs that
    /// have ended (failed runs and runs moved to another worker leave theirs), and of runs not written to for
    /// <see cref="SpoolRetention"/>. The first sweep runs at start.
    /// </summary>
    public TimeSpan SpoolSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A spool folder of a run that has not ended (or that storage does not know) is kept this long after its last write.</summary>
    public TimeSpan SpoolRetention { get; set; } = TimeSpan.FromDays(2);

    public CollectionSchedule ToSchedule() => new(Interval, string.IsNullOrWhiteSpace(Cron) ? null : Cron.Trim());

    internal static IEnumerable<string> Validate(CollectionOptions options)
    {
        if (options.Interval < TimeSpan.FromSeconds(1))
        {
            yield return $"Collection:Interval must be at least one second, not {options.Interval}.";
        }

        if (options.WorkerQueueTimeout < TimeSpan.FromSeconds(1))
        {
            yield return $"Collection:WorkerQueueTimeout must be at least one second, not {options.WorkerQueueTimeout}.";
        }

        if (options.SpoolSweepInterval < TimeSpan.Zero)
        {
            yield return $"Collection:SpoolSweepInterval must not be negative (00:00:00 turns the sweep off), not {options.SpoolSweepInterval}.";
        }

        if (options.SpoolRetention < TimeSpan.FromHours(1))
        {
            yield return $"Collection:SpoolRetention must be at least one hour (a run's files must outlive its activities' timeouts), not {options.SpoolRetention}.";
        }

        if (!string.IsNullOrWhiteSpace(options.Cron) && !CollectionScheduleMath.TryParseCron(options.Cron, out var error))
        {
            yield return $"Collection:Cron '{options.Cron}' is not a valid cron expression: {error}";
        }
    }
}
