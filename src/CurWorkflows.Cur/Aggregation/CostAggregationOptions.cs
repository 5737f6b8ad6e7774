namespace CurWorkflows.Cur.Aggregation;

/// <summary>How CUR rows are attributed to packages.</summary>
public sealed record CostAggregationOptions
{
    public const string DefaultTagKey = "user:md-package";

    /// <summary>The cost allocation tag whose value names the package; the CSV column is `resourceTags/{TagKey}`.</summary>
    public string TagKey { get; init; } = DefaultTagKey;

    /// <summary>Optional: packages of resources by ARN, used for rows whose tag cell is empty.</summary>
    public ResourcePackageIndex? ResourceIndex { get; init; }

    /// <summary>Optional: the billing period the file was delivered for (its folder). A row of another period is
    /// malformed, as rows of two periods in one file are: a file of another month in a period's manifest would add
    /// that month's costs to this one.</summary>
    public DateOnly? ExpectedBillingPeriod { get; init; }

    public string TagColumn => "resourceTags/" + TagKey;
}

/// <summary>When a long aggregation reports its progress, so that an activity can heartbeat and spill its state.</summary>
public sealed record CheckpointOptions
{
    /// <summary>Report after this many rows since the last report (0: never by rows).</summary>
    public long EveryRows { get; init; }

    /// <summary>Report after this much time since the last report (zero: never by time). Checked every few thousand rows.</summary>
    public TimeSpan Interval { get; init; }

    /// <summary>
    /// Called at a row boundary with the position reached. The aggregator's state is consistent at that moment:
    /// call <see cref="CostAggregator.Save"/> inside the callback to spill it; a resumed run continues from there.
    /// </summary>
    public required Action<CostAggregator, CurCheckpoint> OnCheckpoint { get; init; }
}

/// <summary>
/// Where reading a file stands, at a row boundary: rows already aggregated, the line and decompressed byte offset
/// where the next record starts, and the compressed bytes read so far (read-ahead included, for progress only).
/// </summary>
public sealed record CurReadPosition(long Rows, long Line, long DecompressedBytes, long CompressedBytesRead)
{
    public static CurReadPosition Start => new(0, 1, 0, 0);
}

/// <summary>A small progress record for heartbeats: which file, where, and how much has been aggregated so far.</summary>
public sealed record CurCheckpoint(string File, CurReadPosition Position, long TotalRows, int Aggregates);
