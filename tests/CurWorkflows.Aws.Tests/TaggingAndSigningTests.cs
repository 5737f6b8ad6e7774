using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;

namespace CurWorkflows.Aws.Tests;

public class TaggingTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    [Fact]
    public async Task GetTagValuesAsync_250TaggedResourcesOver3Pages_MapsEveryArnToItsPackage()
    {
        for (var i = 0; i < 250; i++)
        {
            aws.Server.AddTaggedResource($"arn:aws:ec2:us-east-1:123456789012:instance/i-{i:x17}",
                new Dictionary<string, string> { ["md-package"] = $"pkg-{i % 7}", ["Name"] = $"web {i}" });
        }

        aws.Server.AddTaggedResource("arn:aws:s3:::untagged-bucket", new Dictionary<string, string> { ["team"] = "x" });
        aws.Server.Faults.Add(new InjectedFault(FaultKind.Throttling, LocalAwsOperations.GetResources));
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetResources);
        using var factory = aws.CreateFactory();
        using var http = new HttpClient();

        var tags = await new ResourceTagClient(factory, http).GetTagValuesAsync(LocalAwsFixture.Role("tags"), "user:md-package");

        Assert.Equal(250, tags.Count);
        Assert.Equal("pkg-3", tags["arn:aws:ec2:us-east-1:123456789012:instance/i-0000000000000000a"]);
        Assert.DoesNotContain("arn:aws:s3:::untagged-bucket", tags.Keys);
        Assert.Equal(4, aws.Server.Counters.Requests(LocalAwsOperations.GetResources) - before);
        Assert.True(aws.Server.Counters.Errors("ThrottledException") >= 1);
    }

    [Fact]
    public async Task GetTagValuesAsync_ReadsEveryRegion_EachSignedForItself()
    {
        aws.Server.AddTaggedResource("arn:aws:ec2:eu-west-1:123456789012:instance/i-0000000000000e0w1", new Dictionary<string, string> { ["md-regions"] = "in-ireland" });
        aws.Server.AddTaggedResource("arn:aws:rds:us-west-2:123456789012:db:regions-db", new Dictionary<string, string> { ["md-regions"] = "in-oregon" });
        aws.Server.AddTaggedResource("arn:aws:s3:::regions-bucket", new Dictionary<string, string> { ["md-regions"] = "global" });
        aws.Server.AddTaggedResource("arn:aws:ec2:ap-east-1:123456789012:instance/i-0000000000000ape1", new Dictionary<string, string> { ["md-regions"] = "opt-in" });
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetResources);
        using var factory = aws.CreateFactory(o => o.TaggingRegions = []);
        using var http = new HttpClient();

        var tags = await new ResourceTagClient(factory, http).GetTagValuesAsync(LocalAwsFixture.Role("tags-regions"), "user:md-regions");

        // Every region enabled by default, one request each (the local endpoint answers as AWS does: per signed region);
        // an opt-in region is read only when configured.
        Assert.Equal(AwsOptions.DefaultTaggingRegions.Count, aws.Server.Counters.Requests(LocalAwsOperations.GetResources) - before);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["arn:aws:ec2:eu-west-1:123456789012:instance/i-0000000000000e0w1"] = "in-ireland",
                ["arn:aws:rds:us-west-2:123456789012:db:regions-db"] = "in-oregon",
                ["arn:aws:s3:::regions-bucket"] = "global",
            },
            tags);
        // Configured regions are read beside the service's own (Aws:Region), which is always read.
        using var optIn = aws.CreateFactory(o => o.TaggingRegions = ["ap-east-1"]);
        var withOptIn = await new ResourceTagClient(optIn, http).GetTagValuesAsync(LocalAwsFixture.Role("tags-regions"), "user:md-regions");
        Assert.Equal(["global", "opt-in"], withOptIn.Values.Order().ToArray());
    }

    [Fact]
    public async Task GetTagValuesAsync_ARegionThatRefusesTheRole_HoldsNothing_ButTheServicesOwnRegionRefusingIsAccessDenied()
    {
        aws.Server.AddTaggedResource("arn:aws:ec2:eu-west-1:123456789012:instance/i-00000000000deny01", new Dictionary<string, string> { ["md-deny"] = "in-ireland" });
        aws.Server.AddTaggedResource("arn:aws:ec2:us-east-1:123456789012:instance/i-00000000000deny02", new Dictionary<string, string> { ["md-deny"] = "in-virginia" });
        using var factory = aws.CreateFactory(o => o.TaggingRegions = ["us-east-1", "eu-west-1", "eu-west-3"]);
        using var http = new HttpClient();
        var client = new ResourceTagClient(factory, http);

        // An organization's policy denies eu-west-3: its resources cannot be read, the others still attribute.
        aws.Server.Faults.Add(new InjectedFault(FaultKind.AccessDenied, LocalAwsOperations.GetResourcesIn("eu-west-3")));
        var tags = await client.GetTagValuesAsync(LocalAwsFixture.Role("tags-deny"), "user:md-deny");
        Assert.Equal(["in-ireland", "in-virginia"], tags.Values.Order().ToArray());
        Assert.Equal(0, aws.Server.Faults.Pending);

        // The service's own region refusing is the role's missing permission, also when the configured regions leave it out.
        using var elsewhere = aws.CreateFactory(o => o.TaggingRegions = ["eu-west-1"]);
        foreach (var lookup in new[] { client, new ResourceTagClient(elsewhere, http) })
        {
            aws.Server.Faults.Add(new InjectedFault(FaultKind.AccessDenied, LocalAwsOperations.GetResourcesIn("us-east-1")));
            var refused = await Assert.ThrowsAsync<CurException>(() => lookup.GetTagValuesAsync(LocalAwsFixture.Role("tags-deny"), "user:md-deny"));
            Assert.Equal(CurErrorCodes.AccessDenied, refused.Code);
        }
    }

    [Fact]
    public async Task GetTagValuesAsync_ARefusedSignature_FailsWithoutTheQuotedCanonicalRequest()
    {
        // AWS's answer to a signature it does not accept quotes the canonical request it expected, whose headers hold
        // the session token: none of it may reach the failure, which goes into the run's history and the API.
        using var factory = aws.CreateFactory(o => o.TaggingRegions = ["us-east-1"]);
        using var http = new HttpClient();
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SignatureMismatch, LocalAwsOperations.GetResources));

        var refused = await Assert.ThrowsAsync<CurException>(() => new ResourceTagClient(factory, http).GetTagValuesAsync(LocalAwsFixture.Role("tags-signature"), "user:md-package"));

        Assert.Equal(0, aws.Server.Faults.Pending);
        Assert.Contains("InvalidSignatureException", refused.Message, StringComparison.Ordinal);
        Assert.Contains("does not match the signature you provided", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Canonical String", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("x-amz-security-token", refused.Message, StringComparison.OrdinalIgnoreCase);
        var secrets = aws.Server.IssuedSecretsForLeakChecks();
        Assert.NotEmpty(secrets);
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, refused.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/\n\nx-amz-security-token:FQoGZXIvYXdzEXAMPLE'", "The request signature we calculated does not match.")]
    [InlineData("Bad request: X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE&X-Amz-Signature=abcdef0123 refused", "Bad request: X-Amz-Security-Token=[masked]&X-Amz-Signature=[masked] refused")]
    [InlineData("Token refused: security-token: FQoGZXIvYXdzEXAMPLE (expired)", "Token refused: security-token: [masked] (expired)")]
    [InlineData("The SessionToken=FQoGZXIvYXdzEXAMPLE; is expired", "The SessionToken=[masked]; is expired")]
    [InlineData("Invalid session_token : FQoGZXIvYXdzEXAMPLE, retry", "Invalid session_token : [masked], retry")]
    [InlineData("Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024 rejected",
        "Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=[masked] rejected")]
    [InlineData("Access Denied", "Access Denied")]
    [InlineData(null, "")]
    public void SafeMessage_KeepsTheFirstLineAndMasksTokens(string? message, string expected) =>
        Assert.Equal(expected, AwsErrors.SafeMessage(message));

    [Fact]
    public async Task GetTagValuesAsync_APaginationTokenThatExpired_StartsTheWalkOver()
    {
        for (var i = 0; i < 250; i++)
        {
            aws.Server.AddTaggedResource($"arn:aws:ec2:us-east-1:123456789012:instance/i-{i:x17}",
                new Dictionary<string, string> { ["md-package"] = $"pkg-{i % 7}" });
        }

        aws.Server.Faults.Add(new InjectedFault(FaultKind.Throttling, LocalAwsOperations.GetResourcesNextPage));
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetResources);
        using var factory = aws.CreateFactory();
        using var http = new HttpClient();

        var tags = await new ResourceTagClient(factory, http).GetTagValuesAsync(LocalAwsFixture.Role("tags-walk"), "user:md-package");

        Assert.Equal(250, tags.Count);
        // The first page, the second refused, then the three pages again.
        Assert.Equal(5, aws.Server.Counters.Requests(LocalAwsOperations.GetResources) - before);
        Assert.Equal(0, aws.Server.Faults.Pending);
    }

    [Fact]
    public async Task GetTagValuesAsync_ASessionAwsNoLongerAccepts_IsAssumedAgain()
    {
        aws.Server.AddTaggedResource("arn:aws:ec2:us-east-1:123456789012:instance/i-0000000000000expir",
            new Dictionary<string, string> { ["md-expiry"] = "pkg-expired" });
        using var factory = aws.CreateFactory();
        using var http = new HttpClient();
        var client = new ResourceTagClient(factory, http);
        var role = LocalAwsFixture.Role("tags-expired");
        await client.GetTagValuesAsync(role, "user:md-expiry");
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        aws.Server.ExpireSessions();

        var tags = await client.GetTagValuesAsync(role, "user:md-expiry");

        Assert.Equal("pkg-expired", tags["arn:aws:ec2:us-east-1:123456789012:instance/i-0000000000000expir"]);
        Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
        Assert.True(aws.Server.Counters.Errors("ExpiredTokenException") >= 1);
    }

    [Fact]
    public async Task GetTagValuesAsync_ASessionAwsNoLongerKnows_IsAssumedAgainInsteadOfRefusingTheRole()
    {
        aws.Server.AddTaggedResource("arn:aws:ec2:us-east-1:123456789012:instance/i-00000000000forgot",
            new Dictionary<string, string> { ["md-forgotten"] = "pkg-forgotten" });
        using var factory = aws.CreateFactory();
        using var http = new HttpClient();
        var client = new ResourceTagClient(factory, http);
        var role = LocalAwsFixture.Role("tags-forgotten");
        await client.GetTagValuesAsync(role, "user:md-forgotten");
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        // UnrecognizedClientException, the answer of an opt-in region not enabled, here in the home region.
        aws.Server.ForgetSessions();

        var tags = await client.GetTagValuesAsync(role, "user:md-forgotten");

        Assert.Equal("pkg-forgotten", tags["arn:aws:ec2:us-east-1:123456789012:instance/i-00000000000forgot"]);
        Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
        Assert.True(aws.Server.Counters.Errors("UnrecognizedClientException") >= 1);
    }

    [Fact]
    public async Task GetTagValuesAsync_ASessionNoRegionKnows_IsAssumedAgainOnceForTheWholeLookup()
    {
        aws.Server.AddTaggedResource("arn:aws:ec2:eu-west-1:123456789012:instance/i-000000000000forgot2",
            new Dictionary<string, string> { ["md-forgotten-all"] = "pkg-eu" });
        using var factory = aws.CreateFactory(o => o.TaggingRegions = ["eu-west-1", "eu-central-1", "ap-southeast-2"]);
        using var http = new HttpClient();
        var client = new ResourceTagClient(factory, http);
        var role = LocalAwsFixture.Role("tags-forgotten-all");
        await client.GetTagValuesAsync(role, "user:md-forgotten-all");
        var assumed = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);
        // Every region answers UnrecognizedClientException, as a region the account has not enabled does.
        aws.Server.ForgetSessions();

        var tags = await client.GetTagValuesAsync(role, "user:md-forgotten-all");

        Assert.Equal("pkg-eu", tags["arn:aws:ec2:eu-west-1:123456789012:instance/i-000000000000forgot2"]);
        Assert.Equal(assumed + 1, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
    }
}

public class SigningAndPolicyTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Bucket = "massdriver-costs-sig00001";

    private AmazonS3Client RawS3(AWSCredentials credentials) =>
        new(credentials, new AmazonS3Config { ServiceURL = aws.Server.Url.ToString(), ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

    private async Task<Credentials> AssumeAsync()
    {
        using var sts = new AmazonSecurityTokenServiceClient(
            new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, LocalAwsFixture.PlatformSecret),
            new AmazonSecurityTokenServiceConfig { ServiceURL = aws.Server.Url.ToString(), AuthenticationRegion = "us-east-1" });
        var response = await sts.AssumeRoleAsync(new AssumeRoleRequest
        {
            RoleArn = LocalAwsFixture.RoleArn,
            ExternalId = LocalAwsFixture.ExternalId,
            RoleSessionName = "signing-test",
            DurationSeconds = 3600,
        });
        return response.Credentials;
    }

    [Fact]
    public async Task S3_SignedWithLiveTemporaryCredentials_Succeeds()
    {
        aws.Server.CreateBucket(Bucket);
        aws.Server.Objects.PutObject(Bucket, "a.txt", "hello"u8.ToArray());
        var credentials = await AssumeAsync();
        using var s3 = RawS3(new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken));

        using var response = await s3.GetObjectAsync(Bucket, "a.txt");
        using var reader = new StreamReader(response.ResponseStream);

        Assert.Equal("hello", await reader.ReadToEndAsync());
        Assert.True(credentials.Expiration > DateTime.UtcNow.AddMinutes(55));
    }

    [Fact]
    public async Task S3_SignedWithWrongSecret_SignatureDoesNotMatch()
    {
        aws.Server.CreateBucket(Bucket);
        var credentials = await AssumeAsync();
        using var s3 = RawS3(new SessionAWSCredentials(credentials.AccessKeyId, "wrong" + credentials.SecretAccessKey, credentials.SessionToken));

        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket }));

        Assert.Equal("SignatureDoesNotMatch", ex.ErrorCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, ex.StatusCode);
    }

    [Fact]
    public async Task S3_SignedWithUnknownKeyOrPlatformKey_Refused()
    {
        aws.Server.CreateBucket(Bucket);
        using var unknown = RawS3(new BasicAWSCredentials("AKIAUNKNOWN000000000", "whatever"));
        using var platform = RawS3(new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, LocalAwsFixture.PlatformSecret));

        var unknownError = await Assert.ThrowsAsync<AmazonS3Exception>(() => unknown.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket }));
        var platformError = await Assert.ThrowsAsync<AmazonS3Exception>(() => platform.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket }));

        Assert.Equal("InvalidAccessKeyId", unknownError.ErrorCode);
        Assert.Equal("AccessDenied", platformError.ErrorCode);
    }

    [Fact]
    public async Task S3_SignedWithExpiredTemporaryCredentials_ExpiredToken()
    {
        aws.Server.CreateBucket(Bucket);
        var credentials = await AssumeAsync();
        aws.Server.ExpireSessions();
        using var s3 = RawS3(new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken));

        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket }));

        Assert.Equal("ExpiredToken", ex.ErrorCode);
    }

    [Fact]
    public async Task S3_WrongSessionToken_Refused()
    {
        aws.Server.CreateBucket(Bucket);
        var credentials = await AssumeAsync();
        using var s3 = RawS3(new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, "forged-token"));

        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket }));

        Assert.Equal("InvalidToken", ex.ErrorCode);
    }

    [Fact]
    public async Task Policy_ActionOutsideThePolicy_AccessDenied()
    {
        aws.Server.CreateBucket(Bucket);
        aws.Server.CreateBucket("other-bucket");
        aws.Server.Objects.PutObject("other-bucket", "x.csv", "x"u8.ToArray());
        var credentials = await AssumeAsync();
        using var s3 = RawS3(new SessionAWSCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken));

        var put = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "new.csv", ContentBody = "data" }));
        var otherBucket = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectAsync("other-bucket", "x.csv"));

        Assert.Equal("AccessDenied", put.ErrorCode);
        Assert.Equal("AccessDenied", otherBucket.ErrorCode);
        Assert.Null(aws.Server.Objects.GetObject(Bucket, "new.csv"));
    }

    [Fact]
    public async Task PutObject_AdminKeys_SeedsAnObjectThroughTheSdk()
    {
        aws.Server.CreateBucket(Bucket);
        using var admin = RawS3(new BasicAWSCredentials(LocalAwsFixture.AdminAccessKeyId, LocalAwsFixture.AdminSecret));
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("line,of,csv\n", 20_000)));

        await admin.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "seeded/report.csv", InputStream = new MemoryStream(body) });

        var stored = aws.Server.Objects.GetObject(Bucket, "seeded/report.csv");
        Assert.NotNull(stored);
        Assert.Equal(body.Length, stored.Size);
    }

    [Fact]
    public async Task Tagging_RoleWithoutTagPermission_AccessDenied()
    {
        var policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::massdriver-costs-*"}]}""";
        await using var server = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = LocalAwsFixture.PlatformAccessKeyId, SecretAccessKey = LocalAwsFixture.PlatformSecret }],
            Roles = [new LocalAwsRoleTrust { RoleArn = LocalAwsFixture.RoleArn, ExternalId = LocalAwsFixture.ExternalId, PolicyJson = policy }],
            LoggerFactory = aws.LoggerFactory,
        });
        using var factory = new AwsClientFactory(
            Microsoft.Extensions.Options.Options.Create(new AwsOptions { StsServiceUrl = server.Url.ToString(), S3ServiceUrl = server.Url.ToString(), TaggingServiceUrl = server.Url.ToString(), S3ForcePathStyle = true }),
            new AwsPlatformCredentials(new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, LocalAwsFixture.PlatformSecret)));
        using var http = new HttpClient();

        var ex = await Assert.ThrowsAsync<CurException>(() => new ResourceTagClient(factory, http).GetTagValuesAsync(LocalAwsFixture.Role("no-tags"), "md-package"));

        Assert.Equal(CurErrorCodes.AccessDenied, ex.Code);
        Assert.Contains("AccessDeniedException", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IamPolicy_ProductDocPolicy_AllowsExactlyTheThreeStatements()
    {
        var policy = IamPolicy.Load(LocalAwsFixture.PolicyPath);

        Assert.True(policy.IsAllowed("s3:ListBucket", "arn:aws:s3:::massdriver-costs-a1b2c3d4"));
        Assert.True(policy.IsAllowed("s3:GetObject", "arn:aws:s3:::massdriver-costs-a1b2c3d4/massdriver/x.csv.zip"));
        Assert.True(policy.IsAllowed("tag:GetResources", "*"));
        Assert.False(policy.IsAllowed("s3:PutObject", "arn:aws:s3:::massdriver-costs-a1b2c3d4/x"));
        Assert.False(policy.IsAllowed("s3:GetObject", "arn:aws:s3:::other-bucket/x"));
        Assert.False(policy.IsAllowed("s3:DeleteObject", "arn:aws:s3:::massdriver-costs-a1b2c3d4/x"));
    }
}

public class TagAttributionTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    [Fact]
    public async Task TagLookupOverSeveralPages_AttributesUntaggedCurRowsByResourceId()
    {
        const string bucket = "massdriver-costs-attr0001";
        aws.Server.CreateBucket(bucket);
        for (var i = 0; i < 120; i++)
        {
            aws.Server.AddTaggedResource($"arn:aws:ec2:us-east-1:123456789012:instance/i-{i:x17}",
                new Dictionary<string, string> { ["md-package"] = i % 2 == 0 ? "api" : "worker" });
        }

        var csv = new System.Text.StringBuilder()
            .Append("identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/ProductCode,lineItem/ResourceId,lineItem/UnblendedCost,lineItem/CurrencyCode,resourceTags/user:md-package\n")
            .Append("1,Usage,2024-11-01T00:00:00Z,AmazonEC2,i-00000000000000002,1.25,USD,\n")          // untagged, ARN's last part -> api
            .Append("2,Usage,2024-11-01T00:00:00Z,AmazonEC2,arn:aws:ec2:us-east-1:123456789012:instance/i-00000000000000071,2.5,USD,\n") // full ARN -> worker
            .Append("3,Usage,2024-11-01T00:00:00Z,AmazonEC2,i-unknown,0.75,USD,\n")                   // stays untagged
            .Append("4,Usage,2024-11-01T00:00:00Z,AmazonEC2,i-00000000000000004,4.0,USD,web\n")       // the tag cell wins
            .ToString();
        const string key = "massdriver/massdriver-costs/20241101-20241201/massdriver-costs-1.csv";
        aws.Server.Objects.PutObject(bucket, key, System.Text.Encoding.UTF8.GetBytes(csv));
        using var factory = aws.CreateFactory();
        using var http = new HttpClient();
        var role = LocalAwsFixture.Role("attribution");
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetResources);

        var tags = await new ResourceTagClient(factory, http).GetTagValuesAsync(role, CurWorkflows.Cur.Aggregation.CostAggregationOptions.DefaultTagKey);
        var destination = Path.Combine(Path.GetTempPath(), $"curworkflows-attr-{Guid.NewGuid():N}.csv");
        try
        {
            await new ResumableDownloader(factory).DownloadAsync(role, bucket, key, destination);
            var result = CurWorkflows.Cur.Aggregation.CostAggregator.AggregateFile(
                CurWorkflows.Cur.Reading.CurSource.FromFile(destination),
                new CurWorkflows.Cur.Aggregation.CostAggregationOptions { ResourceIndex = new CurWorkflows.Cur.Aggregation.ResourcePackageIndex(tags) });

            Assert.Equal(2, aws.Server.Counters.Requests(LocalAwsOperations.GetResources) - before);
            Assert.Equal(3.75m, result.AttributedByResourceIndex.Unblended);
            Assert.Equal(2, result.RowsAttributedByResourceIndex);
            Assert.Equal(0.75m, result.Untagged.Unblended);
            Assert.Equal(8.5m, result.Totals.Unblended);
            var byPackage = result.Daily.GroupBy(d => d.Package).ToDictionary(g => g.Key, g => g.Sum(d => d.Cost.Unblended));
            Assert.Equal(1.25m, byPackage["api"]);
            Assert.Equal(2.5m, byPackage["worker"]);
            Assert.Equal(4.0m, byPackage["web"]);
            Assert.Equal(0.75m, byPackage[""]);
        }
        finally
        {
            File.Delete(destination);
            File.Delete(destination + ".json");
        }
    }
}
