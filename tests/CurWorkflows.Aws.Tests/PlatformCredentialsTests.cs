using Amazon.Runtime;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;
using Microsoft.Extensions.Logging;

namespace CurWorkflows.Aws.Tests;

/// <summary>
/// The platform's own credentials: what STS says when they are wrong is our fault, not the customer's role, so it is
/// retried as <c>transient</c> instead of telling the customer <c>access_denied</c>; and the start-up check names them.
/// </summary>
public class PlatformCredentialsTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>
{
    private const string Bucket = "massdriver-costs-plat0001";

    [Fact]
    public async Task AssumeRole_signed_with_a_wrong_platform_secret_is_transient_and_blames_the_platform()
    {
        var factory = aws.CreateFactory(platform: new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, "not-the-platform-secret"));

        var ex = await Assert.ThrowsAsync<PlatformCredentialsException>(() => factory.EnsureRoleAsync(LocalAwsFixture.Role("wrong-secret")));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains("SignatureDoesNotMatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the platform's own AWS credentials (not the customer's role)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-platform-secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssumeRole_with_an_unknown_platform_key_is_transient()
    {
        var factory = aws.CreateFactory(platform: new BasicAWSCredentials("AKIANOTAPLATFORMKEY1", "whatever"));

        var ex = await Assert.ThrowsAsync<PlatformCredentialsException>(() => factory.EnsureRoleAsync(LocalAwsFixture.Role("unknown-key")));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains("InvalidClientTokenId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enable_validation_with_broken_platform_credentials_throws_transient_instead_of_answering_access_denied()
    {
        aws.Server.CreateBucket(Bucket);
        var factory = aws.CreateFactory(platform: new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, "not-the-platform-secret"));
        var validator = new IntegrationValidator(factory, new CurBucketReader(factory));

        // The validator answers the customer's own problems; one of ours is thrown (the API answers 503).
        var ex = await Assert.ThrowsAsync<PlatformCredentialsException>(() => validator.ValidateAsync(LocalAwsFixture.Role("enable-broken"), new ReportLocation(Bucket, "massdriver")));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
    }

    [Fact]
    public async Task A_trust_policy_refusal_is_still_access_denied()
    {
        var factory = aws.CreateFactory();

        var ex = await Assert.ThrowsAsync<CurException>(() => factory.EnsureRoleAsync(LocalAwsFixture.Role("wrong-ext", externalId: "not-the-external-id")));

        Assert.Equal(CurErrorCodes.AccessDenied, ex.Code);
    }

    [Fact]
    public async Task Credentials_that_cannot_be_resolved_are_transient_and_resolved_again_on_the_next_call()
    {
        var calls = 0;
        var platform = new AwsPlatformCredentials(() =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new AmazonClientException("Failed to resolve AWS credentials. The credential providers used to search for credentials returned no credentials");
            }

            return new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, LocalAwsFixture.PlatformSecret);
        });
        using var factory = new AwsClientFactory(Microsoft.Extensions.Options.Options.Create(aws.Options()), platform, aws.LoggerFactory);

        var first = await Assert.ThrowsAsync<PlatformCredentialsException>(() => factory.EnsureRoleAsync(LocalAwsFixture.Role("late-credentials")));
        var expiry = await factory.EnsureRoleAsync(LocalAwsFixture.Role("late-credentials"));

        Assert.Equal(CurErrorCodes.Transient, first.Code);
        Assert.True(expiry > DateTime.UtcNow);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task GetPlatformIdentity_names_the_platform_not_a_customer_role()
    {
        using var factory = aws.CreateFactory();
        var before = aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole);

        var identity = await factory.GetPlatformIdentityAsync();

        Assert.Equal($"arn:aws:iam::{LocalAwsFixture.AccountId}:user/platform", identity.Arn);
        Assert.Equal(LocalAwsFixture.AccountId, identity.Account);
        Assert.Equal(before, aws.Server.Counters.Requests(LocalAwsOperations.AssumeRole));
    }

    [Fact]
    public async Task The_start_up_check_logs_the_platform_identity()
    {
        using var subject = new CheckUnderTest(aws);

        var identity = await subject.RunStartUpCheckAsync();

        Assert.Equal($"arn:aws:iam::{LocalAwsFixture.AccountId}:user/platform", identity?.Arn);
        Assert.Contains(subject.Logs.Lines, l => l.StartsWith("Information", StringComparison.Ordinal)
            && l.Contains($"AWS platform identity: arn:aws:iam::{LocalAwsFixture.AccountId}:user/platform", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_start_up_check_warns_about_refused_platform_credentials_without_their_secret()
    {
        using var subject = new CheckUnderTest(aws, platformSecret: "not-the-platform-secret");

        var identity = await subject.RunStartUpCheckAsync();

        Assert.Null(identity);
        var warning = Assert.Single(subject.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("The platform's own AWS credentials do not work", warning, StringComparison.Ordinal);
        Assert.Contains("SignatureDoesNotMatch", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(subject.Logs.Lines, l => l.Contains("not-the-platform-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Later_checks_reuse_a_fresh_result_and_log_only_a_change()
    {
        using var subject = new CheckUnderTest(aws, platformSecret: "not-the-platform-secret");
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetCallerIdentity);

        var first = await subject.Check.GetStatusAsync(TimeSpan.Zero);
        var again = await subject.Check.GetStatusAsync(TimeSpan.Zero);
        var cached = await subject.Check.GetStatusAsync(TimeSpan.FromMinutes(5));

        Assert.False(first.Works);
        Assert.Contains("SignatureDoesNotMatch", first.Problem, StringComparison.Ordinal);
        Assert.False(again.Works);
        Assert.Same(again, cached);
        Assert.Equal(before + 2, aws.Server.Counters.Requests(LocalAwsOperations.GetCallerIdentity));
        Assert.Single(subject.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_start_up_check_can_be_turned_off()
    {
        using var subject = new CheckUnderTest(aws, enabled: false);
        var before = aws.Server.Counters.Requests(LocalAwsOperations.GetCallerIdentity);

        var identity = await subject.RunStartUpCheckAsync();

        Assert.Null(identity);
        Assert.Equal(before, aws.Server.Counters.Requests(LocalAwsOperations.GetCallerIdentity));
    }

    /// <summary>A <see cref="PlatformIdentityCheck"/> against the local endpoint, with its log lines recorded.</summary>
    private sealed class CheckUnderTest : IDisposable
    {
        private readonly ILoggerFactory loggerFactory;
        private readonly AwsClientFactory factory;

        public CheckUnderTest(LocalAwsFixture aws, string platformSecret = LocalAwsFixture.PlatformSecret, bool enabled = true)
        {
            loggerFactory = LoggerFactory.Create(b => b.AddProvider(Logs));
            factory = aws.CreateFactory(platform: new BasicAWSCredentials(LocalAwsFixture.PlatformAccessKeyId, platformSecret));
            Check = new PlatformIdentityCheck(
                factory, Microsoft.Extensions.Options.Options.Create(aws.Options(o => o.CheckPlatformIdentityOnStart = enabled)), loggerFactory.CreateLogger<PlatformIdentityCheck>());
        }

        public RecordingLoggerProvider Logs { get; } = new();

        public PlatformIdentityCheck Check { get; }

        /// <summary>Starts the check as a host would, waits for its outcome and stops it.</summary>
        public async Task<PlatformIdentity?> RunStartUpCheckAsync()
        {
            await Check.StartAsync(CancellationToken.None);
            var identity = await Check.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            await Check.StopAsync(CancellationToken.None);
            return identity;
        }

        public void Dispose()
        {
            Check.Dispose();
            factory.Dispose();
            loggerFactory.Dispose();
        }
    }
}
