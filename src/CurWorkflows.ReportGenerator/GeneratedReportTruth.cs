namespace CurWorkflows.ReportGenerator;

/// <summary>
/// The exact figures of a generated report, summed by the generator as it wrote each row (independently of the
/// CUR core's reader and cost rules).
/// </summary>
public sealed record GeneratedReportTruth
{
    public long Rows { get; init; }

    /// <summary>Uncompressed CSV bytes, header and byte order mark included.</summary>
    public long Bytes { get; init; }

    public int Columns { get; init; }

    public decimal Unblended { get; init; }

    public decimal NetUnblended { get; init; }

    public decimal Amortized { get; init; }

    /// <summary>Unblended cost of rows with an empty (or absent) tag cell.</summary>
    public decimal UntaggedUnblended { get; init; }

    public IReadOnlyDictionary<string, long> RowsByLineItemType { get; init; } = new Dictionary<string, long>();

    /// <summary>Unblended cost by (usage day, tag value; "" for untagged), from the tag column alone.</summary>
    public IReadOnlyDictionary<(DateOnly Day, string Package), decimal> DailyPackageUnblended { get; init; } =
        new Dictionary<(DateOnly, string), decimal>();

    /// <summary>What the resource tagging API would answer: ARN -> package, for resources written untagged.</summary>
    public IReadOnlyDictionary<string, string> TaggingApiPackagesByArn { get; init; } = new Dictionary<string, string>();

    /// <summary>Unblended cost of the untagged rows whose resource is in <see cref="TaggingApiPackagesByArn"/>.</summary>
    public decimal TaggingApiAttributableUnblended { get; init; }

    public bool Final { get; init; }

    /// <summary>Sums several files' truths (a multi-file delivery).</summary>
    public static GeneratedReportTruth Combine(IEnumerable<GeneratedReportTruth> parts)
    {
        var list = parts.ToList();
        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var daily = new Dictionary<(DateOnly, string), decimal>();
        var arns = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in list)
        {
            foreach (var (type, count) in part.RowsByLineItemType)
            {
                byType[type] = byType.GetValueOrDefault(type) + count;
            }

            foreach (var (key, cost) in part.DailyPackageUnblended)
            {
                daily[key] = daily.GetValueOrDefault(key) + cost;
            }

            foreach (var (arn, package) in part.TaggingApiPackagesByArn)
            {
                arns[arn] = package;
            }
        }

        return new GeneratedReportTruth
        {
            Rows = list.Sum(p => p.Rows),
            Bytes = list.Sum(p => p.Bytes),
            Columns = list.Count == 0 ? 0 : list[0].Columns,
            Unblended = list.Sum(p => p.Unblended),
            NetUnblended = list.Sum(p => p.NetUnblended),
            Amortized = list.Sum(p => p.Amortized),
            UntaggedUnblended = list.Sum(p => p.UntaggedUnblended),
            RowsByLineItemType = byType,
            DailyPackageUnblended = daily,
            TaggingApiPackagesByArn = arns,
            TaggingApiAttributableUnblended = list.Sum(p => p.TaggingApiAttributableUnblended),
            Final = list.Count > 0 && list.All(p => p.Final),
        };
    }
}
