namespace CurWorkflows.Cur.Manifest;

/// <summary>One object of a bucket listing; only what the key layout needs.</summary>
public sealed record BucketObject(string Key, string? ETag = null, long Size = 0, DateTimeOffset? LastModified = null);

/// <summary>How AWS versions report deliveries (the CUR report's <c>report_versioning</c>).</summary>
public enum ReportVersioning
{
    /// <summary>Data files sit in the period folder and are overwritten in place.</summary>
    OverwriteReport,

    /// <summary>Each delivery goes into <c>&lt;period&gt;/&lt;assemblyId&gt;/</c>; the period manifest points at the newest.</summary>
    CreateNewReport,
}

/// <summary>The manifest of one billing period, found in a bucket listing.</summary>
public sealed record PeriodManifestLocation(
    CurBillingPeriod Period,
    string ManifestKey,
    string? ManifestETag,
    ReportVersioning Versioning,
    IReadOnlyList<string> AssemblyFolders);

/// <summary>
/// The S3 key layout of a legacy CUR report:
/// <c>&lt;prefix&gt;/&lt;report-name&gt;/&lt;yyyyMMdd-yyyyMMdd&gt;/&lt;report-name&gt;-Manifest.json</c>.
/// </summary>
public static class CurReportLayout
{
    /// <summary>The object AWS writes at the bucket root when the bucket is set up.</summary>
    public const string ProgrammaticAccessTestObject = "aws-programmatic-access-test-object";

    /// <summary>
    /// The key prefix every object of the report starts with, e.g. <c>massdriver/massdriver-costs/</c>;
    /// with an empty prefix AWS writes keys that start with <c>/</c>, giving <c>/massdriver-costs/</c>.
    /// </summary>
    public static string ReportRoot(string? prefix, string reportName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reportName);
        var trimmed = (prefix ?? string.Empty).Trim('/');
        return trimmed.Length == 0 ? $"/{reportName}/" : $"{trimmed}/{reportName}/";
    }

    /// <summary>The period folder's manifest key (the one discovery uses in both layouts).</summary>
    public static string ManifestKey(string? prefix, string reportName, CurBillingPeriod period) =>
        $"{ReportRoot(prefix, reportName)}{period.FolderName}/{ManifestFileName(reportName)}";

    public static string ManifestFileName(string reportName) => reportName + "-Manifest.json";

    /// <summary>
    /// Finds each billing period's manifest in a listing, oldest period first. Only the period folder's
    /// manifest counts (in CREATE_NEW_REPORT it is rewritten on each delivery to point at the newest assembly);
    /// the per-assembly copies and anything outside the report root are ignored.
    /// </summary>
    public static IReadOnlyList<PeriodManifestLocation> FindPeriodManifests(
        IEnumerable<BucketObject> listing, string? prefix, string reportName)
    {
        var root = ReportRoot(prefix, reportName);
        var manifestFileName = ManifestFileName(reportName);
        var manifests = new Dictionary<string, (CurBillingPeriod Period, BucketObject Object)>(StringComparer.Ordinal);
        var assemblies = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);

        foreach (var item in listing)
        {
            if (item.Key == ProgrammaticAccessTestObject || !item.Key.StartsWith(root, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = item.Key.AsSpan(root.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0)
            {
                continue;
            }

            var folder = rest[..slash].ToString();
            if (!CurBillingPeriod.TryParseFolderName(folder, out var period))
            {
                continue;
            }

            var inFolder = rest[(slash + 1)..];
            var nextSlash = inFolder.IndexOf('/');
            if (nextSlash < 0)
            {
                if (inFolder.SequenceEqual(manifestFileName))
                {
                    manifests[folder] = (period, item);
                }
            }
            else if (nextSlash > 0)
            {
                if (!assemblies.TryGetValue(folder, out var set))
                {
                    assemblies[folder] = set = new SortedSet<string>(StringComparer.Ordinal);
                }

                set.Add(inFolder[..nextSlash].ToString());
            }
        }

        return manifests
            .Select(pair =>
            {
                var folders = assemblies.TryGetValue(pair.Key, out var set) ? set.ToList() : [];
                return new PeriodManifestLocation(
                    pair.Value.Period,
                    pair.Value.Object.Key,
                    pair.Value.Object.ETag,
                    folders.Count > 0 ? ReportVersioning.CreateNewReport : ReportVersioning.OverwriteReport,
                    folders);
            })
            .OrderBy(location => location.Period.Start)
            .ToList();
    }
}
