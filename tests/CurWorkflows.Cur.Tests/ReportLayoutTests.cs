using CurWorkflows.Cur.Manifest;

namespace CurWorkflows.Cur.Tests;

public class ReportLayoutTests
{
    private const string Report = "massdriver-costs";

    [Theory]
    [InlineData("massdriver", "massdriver/massdriver-costs/")]
    [InlineData("massdriver/", "massdriver/massdriver-costs/")]
    [InlineData("a/b", "a/b/massdriver-costs/")]
    [InlineData("", "/massdriver-costs/")]
    [InlineData(null, "/massdriver-costs/")]
    public void ReportRoot_Prefixes_MatchAwsKeys(string? prefix, string expected) =>
        Assert.Equal(expected, CurReportLayout.ReportRoot(prefix, Report));

    [Fact]
    public void FindPeriodManifests_OverwriteLayoutWithPrefix_OnePerPeriodOldestFirst()
    {
        BucketObject[] listing =
        [
            new("aws-programmatic-access-test-object", "\"t\""),
            new("massdriver/massdriver-costs/20241201-20250101/massdriver-costs-Manifest.json", "\"dec\""),
            new("massdriver/massdriver-costs/20241201-20250101/massdriver-costs-1.csv.zip", "\"d1\""),
            new("massdriver/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", "\"nov\""),
            new("massdriver/massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip", "\"n1\""),
            new("massdriver/massdriver-costs/20241101-20241201/massdriver-costs-2.csv.zip", "\"n2\""),
            new("massdriver/other-report/20241101-20241201/other-report-Manifest.json", "\"o\""),
            new("massdriver/massdriver-costs/20241101-20241201/other-report-Manifest.json", "\"wrong-name\""),
            new("massdriver/massdriver-costs/not-a-period/massdriver-costs-Manifest.json", "\"x\""),
        ];

        var found = CurReportLayout.FindPeriodManifests(listing, "massdriver", Report);

        Assert.Equal(2, found.Count);
        Assert.Equal("20241101-20241201", found[0].Period.FolderName);
        Assert.Equal("massdriver/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", found[0].ManifestKey);
        Assert.Equal("\"nov\"", found[0].ManifestETag);
        Assert.Equal(ReportVersioning.OverwriteReport, found[0].Versioning);
        Assert.Empty(found[0].AssemblyFolders);
        Assert.Equal("20241201-20250101", found[1].Period.FolderName);
        Assert.Equal("\"dec\"", found[1].ManifestETag);
    }

    [Fact]
    public void FindPeriodManifests_CreateNewLayout_UsesPeriodManifestNotAssemblyCopies()
    {
        BucketObject[] listing =
        [
            new("r/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", "\"period\""),
            new("r/massdriver-costs/20241101-20241201/20241102T010203Z/massdriver-costs-Manifest.json", "\"a1\""),
            new("r/massdriver-costs/20241101-20241201/20241102T010203Z/massdriver-costs-1.csv.gz", "\"a1d\""),
            new("r/massdriver-costs/20241101-20241201/aa1ddccb-abcd-1234-b849-57a32b6864a9/massdriver-costs-Manifest.json", "\"a2\""),
            new("r/massdriver-costs/20241101-20241201/aa1ddccb-abcd-1234-b849-57a32b6864a9/massdriver-costs-00001.csv.gz", "\"a2d\""),
            // A period whose folder manifest has not been written yet: only an assembly copy exists.
            new("r/massdriver-costs/20241201-20250101/bb1ddccb-abcd-1234-b849-57a32b6864a9/massdriver-costs-Manifest.json", "\"b\""),
        ];

        var found = CurReportLayout.FindPeriodManifests(listing, "r", Report);

        var only = Assert.Single(found);
        Assert.Equal("r/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", only.ManifestKey);
        Assert.Equal("\"period\"", only.ManifestETag);
        Assert.Equal(ReportVersioning.CreateNewReport, only.Versioning);
        Assert.Equal(["20241102T010203Z", "aa1ddccb-abcd-1234-b849-57a32b6864a9"], only.AssemblyFolders);
    }

    [Fact]
    public void FindPeriodManifests_EmptyPrefix_KeysStartWithSlash()
    {
        BucketObject[] listing =
        [
            new("aws-programmatic-access-test-object"),
            new("/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", "\"e\""),
            new("/massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip"),
            // Without the leading slash this is a report under prefix "massdriver-costs"... not ours.
            new("massdriver-costs/20241001-20241101/massdriver-costs-Manifest.json"),
        ];

        var found = CurReportLayout.FindPeriodManifests(listing, "", Report);

        var only = Assert.Single(found);
        Assert.Equal("/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json", only.ManifestKey);
        Assert.Equal(only.ManifestKey, CurReportLayout.ManifestKey("", Report, only.Period));
    }

    [Fact]
    public void FindPeriodManifests_OnlyTestObject_FindsNothing() =>
        Assert.Empty(CurReportLayout.FindPeriodManifests([new BucketObject("aws-programmatic-access-test-object")], "", Report));

    [Fact]
    public void FindPeriodManifests_ManyPeriodsAndFiles_FindsEveryPeriod()
    {
        var listing = new List<BucketObject>();
        var start = new DateTime(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var month = 0; month < 24; month++)
        {
            var period = new CurBillingPeriod(start.AddMonths(month), start.AddMonths(month + 1));
            listing.Add(new BucketObject(CurReportLayout.ManifestKey("p", Report, period), $"\"{month}\""));
            for (var file = 1; file <= 100; file++)
            {
                listing.Add(new BucketObject($"p/{Report}/{period.FolderName}/{Report}-{file:00000}.csv.gz"));
            }
        }

        var found = CurReportLayout.FindPeriodManifests(listing.AsEnumerable().Reverse(), "p", Report);

        Assert.Equal(24, found.Count);
        Assert.Equal(Enumerable.Range(0, 24).Select(m => $"\"{m}\""), found.Select(f => f.ManifestETag));
        Assert.All(found, f => Assert.Equal(ReportVersioning.OverwriteReport, f.Versioning));
    }
}
