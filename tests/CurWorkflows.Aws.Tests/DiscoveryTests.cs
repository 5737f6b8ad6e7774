using System.Text;
using CurWorkflows.Cur;
using CurWorkflows.Cur.Manifest;
using CurWorkflows.LocalAws;

namespace CurWorkflows.Aws.Tests;

public class DiscoveryTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Report = "massdriver-costs";

    private static CurBillingPeriod Period(int year, int month)
    {
        var start = new DateTime(year, month, 1, 0, 0, 0, DateTimeKind.Utc);
        return new CurBillingPeriod(start, start.AddMonths(1));
    }

    private void Put(string bucket, string key, string content = "x") =>
        aws.Server.Objects.PutObject(bucket, key, Encoding.UTF8.GetBytes(content));

    [Fact]
    public async Task FindPeriodManifestsAsync_2500ObjectsEmptyPrefixOverwriteLayout_FindsEveryPeriodAcrossPages()
    {
        const string bucket = "massdriver-costs-disc0001";
        aws.Server.CreateBucket(bucket);
        Put(bucket, CurReportLayout.ProgrammaticAccessTestObject, "test");
        var periods = Enumerable.Range(0, 5).Select(i => Period(2024, 7 + i)).ToList();
        foreach (var period in periods)
        {
            var folder = $"/{Report}/{period.FolderName}/";
            var keys = Enumerable.Range(1, 499).Select(n => $"{folder}{Report}-{n:00000}.csv.gz").ToList();
            foreach (var key in keys)
            {
                Put(bucket, key);
            }

            Put(bucket, folder + Report + "-Manifest.json", Manifests.Json(Report, bucket, period.Start, "asm-" + period.FolderName, keys));
        }

        var before = aws.Server.Counters.Requests(LocalAwsOperations.ListObjectsV2);
        var factory = aws.CreateFactory();
        var reader = new CurBucketReader(factory);
        var role = LocalAwsFixture.Role("disc-empty-prefix");

        var found = await reader.FindPeriodManifestsAsync(role, new ReportLocation(bucket, ""));

        Assert.Equal(periods.Select(p => p.FolderName), found.Select(f => f.Period.FolderName));
        Assert.All(found, f => Assert.Equal(ReportVersioning.OverwriteReport, f.Versioning));
        Assert.All(found, f => Assert.StartsWith("/", f.ManifestKey, StringComparison.Ordinal));
        Assert.Equal(3, aws.Server.Counters.Requests(LocalAwsOperations.ListObjectsV2) - before);

        var all = new List<BucketObject>();
        await foreach (var item in reader.ListObjectsAsync(role, bucket, ""))
        {
            all.Add(item);
        }

        Assert.Equal(2501, all.Count);
        Assert.Equal(all.Count, all.Select(o => o.Key).Distinct().Count());

        // Keys that start with "/" (AWSSDK.S3 would drop the slash from the path but not from the signature).
        var manifest = await reader.ReadManifestAsync(role, bucket, found[^1].ManifestKey);
        Assert.Equal("asm-20241101-20241201", manifest.Manifest.AssemblyId);
        Assert.Equal(499, manifest.Manifest.ReportKeys.Count);
        Assert.Equal(found[^1].ManifestETag, manifest.ETag);
        Assert.Null(manifest.Manifest.Columns[2].Type);

        var dataKey = manifest.Manifest.ReportKeys[0];
        var content = System.Security.Cryptography.RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        aws.Server.Objects.PutObject(bucket, dataKey, content);
        aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, AfterBytes: 1024 * 1024));
        var destination = Path.Combine(Path.GetTempPath(), $"curworkflows-slash-{Guid.NewGuid():N}.csv.gz");
        try
        {
            var download = await new ResumableDownloader(factory).DownloadAsync(role, bucket, dataKey, destination);
            Assert.Equal(content, await File.ReadAllBytesAsync(destination));
            Assert.True(download.Requests >= 3);
        }
        finally
        {
            File.Delete(destination);
            File.Delete(destination + ".json");
        }
    }

    [Fact]
    public async Task FindPeriodManifestsAsync_CreateNewLayoutWithPrefix_UsesThePeriodManifestOfTheNewestAssembly()
    {
        const string bucket = "massdriver-costs-disc0002";
        aws.Server.CreateBucket(bucket);
        foreach (var (period, assemblies) in new[] { (Period(2024, 10), new[] { "20241015T010203Z", "20241031T235959Z" }), (Period(2024, 11), new[] { "aa1ddccb-abcd-1234-b849-57a32b6864a9" }) })
        {
            var folder = $"cur/reports/{Report}/{period.FolderName}/";
            foreach (var assembly in assemblies)
            {
                var key = $"{folder}{assembly}/{Report}-1.csv.zip";
                Put(bucket, key);
                Put(bucket, $"{folder}{assembly}/{Report}-Manifest.json", Manifests.Json(Report, bucket, period.Start, assembly, [key]));
            }

            var newest = assemblies[^1];
            Put(bucket, folder + Report + "-Manifest.json", Manifests.Json(Report, bucket, period.Start, newest, [$"{folder}{newest}/{Report}-1.csv.zip"]));
        }

        var factory = aws.CreateFactory();
        var reader = new CurBucketReader(factory);
        var role = LocalAwsFixture.Role("disc-create-new");

        var found = await reader.FindPeriodManifestsAsync(role, new ReportLocation(bucket, "cur/reports"));

        Assert.Equal(["20241001-20241101", "20241101-20241201"], found.Select(f => f.Period.FolderName));
        Assert.All(found, f => Assert.Equal(ReportVersioning.CreateNewReport, f.Versioning));
        Assert.Equal(["20241015T010203Z", "20241031T235959Z"], found[0].AssemblyFolders);
        var october = await reader.ReadManifestAsync(role, bucket, found[0].ManifestKey);
        Assert.Equal("20241031T235959Z", october.Manifest.AssemblyId);
        Assert.Equal($"cur/reports/{Report}/20241001-20241101/20241031T235959Z/{Report}-1.csv.zip", Assert.Single(october.Manifest.ReportKeys));
    }

    [Fact]
    public async Task ReadManifestAsync_MalformedManifest_ReportMalformedNamingTheObject()
    {
        const string bucket = "massdriver-costs-disc0003";
        aws.Server.CreateBucket(bucket);
        const string key = "p/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json";
        Put(bucket, key, "{\"assemblyId\":\"a\",\"billingPeriod\":{\"start\":\"yesterday\"}}");
        var factory = aws.CreateFactory();

        var ex = await Assert.ThrowsAsync<CurException>(() => new CurBucketReader(factory).ReadManifestAsync(LocalAwsFixture.Role("bad-manifest"), bucket, key));

        Assert.Equal(CurErrorCodes.ReportMalformed, ex.Code);
        Assert.Contains($"s3://{bucket}/{key}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadManifestAsync_MissingManifest_ReportNotFound()
    {
        const string bucket = "massdriver-costs-disc0004";
        aws.Server.CreateBucket(bucket);
        var factory = aws.CreateFactory();

        var ex = await Assert.ThrowsAsync<CurException>(() => new CurBucketReader(factory).ReadManifestAsync(LocalAwsFixture.Role("no-manifest"), bucket, "p/x-Manifest.json"));

        Assert.Equal(CurErrorCodes.ReportNotFound, ex.Code);
    }

    [Fact]
    public async Task ListObjectsAsync_ThrottledAndFailingServer_SdkRetriesThenSucceeds()
    {
        const string bucket = "massdriver-costs-disc0005";
        aws.Server.CreateBucket(bucket);
        Put(bucket, "k1");
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowDown, LocalAwsOperations.ListObjectsV2));
        aws.Server.Faults.Add(new InjectedFault(FaultKind.InternalError, LocalAwsOperations.ListObjectsV2));
        var factory = aws.CreateFactory();

        var keys = new List<string>();
        await foreach (var item in new CurBucketReader(factory).ListObjectsAsync(LocalAwsFixture.Role("retry"), bucket, ""))
        {
            keys.Add(item.Key);
        }

        Assert.Equal(["k1"], keys);
        Assert.Equal(0, aws.Server.Faults.Pending);
        Assert.True(aws.Server.Counters.Errors("SlowDown") >= 1);
        Assert.True(aws.Server.Counters.Errors("InternalError") >= 1);
    }

    [Fact]
    public async Task ListObjectsAsync_PersistentSlowDown_Transient()
    {
        const string bucket = "massdriver-costs-disc0006";
        aws.Server.CreateBucket(bucket);
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowDown, LocalAwsOperations.ListObjectsV2, Times: 10));
        var factory = aws.CreateFactory(o => o.MaxErrorRetry = 1);
        try
        {
            var ex = await Assert.ThrowsAsync<CurException>(async () =>
            {
                await foreach (var _ in new CurBucketReader(factory).ListObjectsAsync(LocalAwsFixture.Role("slow"), bucket, ""))
                {
                }
            });

            Assert.Equal(CurErrorCodes.Transient, ex.Code);
        }
        finally
        {
            aws.Server.Faults.Clear();
        }
    }
}
