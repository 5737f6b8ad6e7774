using System.Diagnostics;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;

namespace CurWorkflows.Aws.Tests;

public class CredentialCacheTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Bucket = "massdriver-costs-cred0001";

    private static async Task ListAsync(AwsClientFactory factory, CustomerRole role)
    {
        await foreach (var _ in new CurBucketReader(factory).ListObjectsAsync(role, Bucket, ""))
        {
        }
    }

    [Fact]
    public async Task S3_RepeatedCallsOfOneIntegration_AssumeRoleOnce()
    {
        aws.Server.CreateBucket(Bucket);
        aws.Server.Objects.PutObject(Bucket, "k", [1]);
        using var factory = aws.CreateFactory();
        var before = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);

        for (var i = 0; i < 5; i++)
        {
            await ListAsync(factory, LocalAwsFixture.Role("cache-a"));
        }

        await ListAsync(factory, LocalAwsFixture.Role("cache-b"));

        Assert.Equal(2, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole) - before);
    }

    [Fact]
    public async Task S3_CredentialsWithinTheRefreshMargin_RenewedBeforeTheyExpire()
    {
        aws.Server.CreateBucket(Bucket);
        // 15-minute sessions renewed when less than 14:59 remain: i.e. one second after they were issued.
        using var factory = aws.CreateFactory(o =>
        {
            o.SessionDuration = TimeSpan.FromMinutes(15);
            o.CredentialRefreshMargin = TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1);
        });
        var role = LocalAwsFixture.Role("refresh");
        var before = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);

        var firstExpiry = await factory.EnsureRoleAsync(role);
        await ListAsync(factory, role);
        Assert.Equal(1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole) - before);
        Assert.InRange(firstExpiry, DateTime.UtcNow.AddMinutes(14), DateTime.UtcNow.AddMinutes(16));

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await ListAsync(factory, role);

        // Within the refresh margin (not yet expired) the SDK renews in the background and signs this request with the
        // still valid credentials: the AssumeRole arrives shortly after, not necessarily before ListAsync returns.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole) - before < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(2, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole) - before);
    }

    [Fact]
    public async Task S3_ChangedExternalId_AssumesAgainAndFailsAccessDenied()
    {
        aws.Server.CreateBucket(Bucket);
        using var factory = aws.CreateFactory();
        await ListAsync(factory, LocalAwsFixture.Role("rotated"));

        var ex = await Assert.ThrowsAsync<CurException>(() => factory.EnsureRoleAsync(LocalAwsFixture.Role("rotated", externalId: "rotated-but-wrong")));

        Assert.Equal(CurErrorCodes.AccessDenied, ex.Code);
    }

    [Fact]
    public async Task AssumeRole_Throttled_SdkRetriesAndSucceeds()
    {
        aws.Server.Faults.Add(new InjectedFault(FaultKind.Throttling, LocalAwsOperations.AssumeRole));
        using var factory = aws.CreateFactory();

        await factory.EnsureRoleAsync(LocalAwsFixture.Role("sts-throttle"));

        Assert.True(aws.Server.Counters.Errors("Throttling") >= 1);
        Assert.Equal(0, aws.Server.Faults.Pending);
    }

    [Fact]
    public async Task Download_SlowBody_CompletesAtTheInjectedRate()
    {
        aws.Server.CreateBucket(Bucket);
        var content = System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024 * 1024);
        aws.Server.Objects.PutObject(Bucket, "slow/file.bin", content);
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, BytesPerSecond: 1024 * 1024));
        using var factory = aws.CreateFactory();
        var destination = Path.Combine(Path.GetTempPath(), $"curworkflows-slow-{Guid.NewGuid():N}.bin");
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("slow"), Bucket, "slow/file.bin", destination);
            stopwatch.Stop();

            Assert.Equal(content, await File.ReadAllBytesAsync(destination));
            Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(0.8), $"took {stopwatch.Elapsed}");
        }
        finally
        {
            File.Delete(destination);
            File.Delete(destination + ".json");
        }
    }
}

public class LocalAwsSeedTests
{
    [Fact]
    public async Task StartAsync_SeedDirectory_ServesItsFilesAsObjects()
    {
        var folder = Directory.CreateTempSubdirectory("curworkflows-seed-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "massdriver-costs", "20241101-20241201"));
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "massdriver-costs", "20241101-20241201", "massdriver-costs-Manifest.json"), "{}");

            await using var server = await LocalAwsServer.StartAsync(new LocalAwsOptions
            {
                SeedDirectories = [new LocalAwsSeedDirectory { Bucket = "massdriver-costs-seed", KeyPrefix = "massdriver/", Directory = folder.FullName }],
            });

            var stored = server.Objects.GetObject("massdriver-costs-seed", "massdriver/massdriver-costs/20241101-20241201/massdriver-costs-Manifest.json");
            Assert.NotNull(stored);
            Assert.Equal(2, stored.Size);
            Assert.Equal("\"99914b932bd37a50b983c5e7c90ae93b\"", stored.ETag);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}

public class CustomerRoleTests
{
    [Fact]
    public void CustomerRole_ToStringAndJson_NeverShowTheExternalId()
    {
        var role = new CustomerRole("int-9", LocalAwsFixture.RoleArn, "ext-secret-value-123");

        Assert.DoesNotContain("ext-secret-value-123", role.ToString(), StringComparison.Ordinal);
        Assert.Contains("int-9", role.ToString(), StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => System.Text.Json.JsonSerializer.Serialize(role));
        Assert.Throws<NotSupportedException>(() => System.Text.Json.JsonSerializer.Serialize(new { Input = role }));
    }
}

public class ExpiredTokenTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    [Fact]
    public async Task S3_SessionExpiredEarly_TransientThenTheNextCallAssumesAgain()
    {
        const string bucket = "massdriver-costs-exp00001";
        aws.Server.CreateBucket(bucket);
        aws.Server.Objects.PutObject(bucket, "k", [1]);
        using var factory = aws.CreateFactory();
        var reader = new CurBucketReader(factory);
        var role = LocalAwsFixture.Role("expired");
        await ListAsync(reader, role, bucket);
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        aws.Server.ExpireSessions();

        var ex = await Assert.ThrowsAsync<CurException>(() => ListAsync(reader, role, bucket));
        Assert.Equal(CurErrorCodes.Transient, ex.Code);

        Assert.Equal(["k"], await ListAsync(reader, role, bucket));
        Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
    }

    [Fact]
    public async Task S3_SessionUnknownToS3_ListingIsTransientNotBucketNotFoundThenTheNextCallAssumesAgain()
    {
        const string bucket = "massdriver-costs-exp00002";
        aws.Server.CreateBucket(bucket);
        aws.Server.Objects.PutObject(bucket, "k", [1]);
        using var factory = aws.CreateFactory();
        var reader = new CurBucketReader(factory);
        var role = LocalAwsFixture.Role("forgotten");
        await ListAsync(reader, role, bucket);
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        // As after a restart of the endpoint: the cached session is one S3 does not know (403 InvalidAccessKeyId).
        aws.Server.ForgetSessions();

        var ex = await Assert.ThrowsAsync<CurException>(() => ListAsync(reader, role, bucket));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains("InvalidAccessKeyId", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["k"], await ListAsync(reader, role, bucket));
        Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
    }

    [Theory]
    [InlineData("expired", "data/file.csv")]
    [InlineData("forgotten", "data/file.csv")]
    [InlineData("expired", "/data/leading-slash.csv")]
    [InlineData("forgotten", "/data/leading-slash.csv")]
    public async Task Download_WithASessionS3NoLongerTakes_AssumesTheRoleAgainAndCompletes(string rejection, string key)
    {
        var bucket = "massdriver-costs-exp" + (rejection == "expired" ? "1" : "2") + (key.StartsWith('/') ? "1" : "0") + "00";
        aws.Server.CreateBucket(bucket);
        var content = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("line of a report\n", 1_000)));
        aws.Server.Objects.PutObject(bucket, key, content);
        using var factory = aws.CreateFactory();
        var role = LocalAwsFixture.Role("download-" + rejection);
        await ListAsync(new CurBucketReader(factory), role, bucket);
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        // The download's first request is its HEAD, whose error answer (400 ExpiredToken, 403 InvalidAccessKeyId) has
        // no body to say why.
        if (rejection == "expired")
        {
            aws.Server.ExpireSessions();
        }
        else
        {
            aws.Server.ForgetSessions();
        }

        var destination = Path.Combine(Path.GetTempPath(), $"curworkflows-rejected-{Guid.NewGuid():N}.csv");
        try
        {
            var result = await new ResumableDownloader(factory).DownloadAsync(role, bucket, key, destination);

            Assert.Equal(content, await File.ReadAllBytesAsync(result.Path));
            Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
        }
        finally
        {
            File.Delete(destination);
        }
    }

    [Fact]
    public async Task Download_RefusedByThePolicy_IsStillAccessDeniedAfterOneHeadWithAFreshSession()
    {
        const string bucket = "massdriver-costs-exp00003";
        aws.Server.CreateBucket(bucket);
        aws.Server.Objects.PutObject(bucket, "k", [1]);
        using var factory = aws.CreateFactory();
        // Outside the reader policy's buckets (massdriver-costs-*): every GetObject and HEAD is refused.
        const string otherBucket = "someone-elses-bucket";
        aws.Server.CreateBucket(otherBucket);
        aws.Server.Objects.PutObject(otherBucket, "k", [1]);
        var role = LocalAwsFixture.Role("policy-refused");
        await ListAsync(new CurBucketReader(factory), role, bucket);
        var heads = aws.Server.Counters.Requests(LocalAwsOperations.HeadObject);

        var ex = await Assert.ThrowsAsync<CurException>(() =>
            new ResumableDownloader(factory).DownloadAsync(role, otherBucket, "k", Path.Combine(Path.GetTempPath(), $"curworkflows-refused-{Guid.NewGuid():N}")));

        Assert.Equal(CurErrorCodes.AccessDenied, ex.Code);
        Assert.Equal(heads + 2, aws.Server.Counters.Requests(LocalAwsOperations.HeadObject));
    }

    private static async Task<List<string>> ListAsync(CurBucketReader reader, CustomerRole role, string bucket)
    {
        var keys = new List<string>();
        await foreach (var item in reader.ListObjectsAsync(role, bucket, ""))
        {
            keys.Add(item.Key);
        }

        return keys;
    }
}
