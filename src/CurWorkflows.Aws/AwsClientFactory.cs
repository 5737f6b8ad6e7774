using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using CurWorkflows.Cur;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Aws;

/// <summary>The platform's own AWS credentials (the caller of AssumeRole). Default: the standard SDK chain.</summary>
public sealed class AwsPlatformCredentials(Func<AWSCredentials> resolve)
{
    public AwsPlatformCredentials(AWSCredentials credentials)
        : this(() => credentials)
    {
    }

    /// <summary>Environment variables, shared profile, container/instance roles, ... as the SDK resolves them.</summary>
    public static AwsPlatformCredentials FromDefaultChain() => new(() => DefaultAWSCredentialsIdentityResolver.GetCredentials());

    /// <summary>
    /// Resolved on every call: the one caller (<see cref="AwsClientFactory"/>'s STS client) keeps what it got, and asks
    /// again after a failure, so that a source that appears later (a container role) is found.
    /// </summary>
    internal AWSCredentials Credentials => resolve();

    public override string ToString() => nameof(AwsPlatformCredentials);
}

/// <summary>
/// Creates AWS clients that act as the customer's role. Temporary credentials are cached in memory per
/// integration (and role ARN and external id) and renewed before they expire; they never leave this object.
/// </summary>
public sealed partial class AwsClientFactory : IDisposable
{
    private readonly AwsOptions _options;
    private readonly AwsPlatformCredentials _platform;
    private readonly ILogger<AwsClientFactory> _logger;
    private readonly Lock _stsSync = new();
    private AmazonSecurityTokenServiceClient? _sts;
    private readonly Lazy<HttpClient> _http;
    private readonly ConcurrentDictionary<CacheKey, Lazy<CustomerSession>> _sessions = new();

    public AwsClientFactory(IOptions<AwsOptions> options, AwsPlatformCredentials platform, ILoggerFactory? loggerFactory = null)
    {
        _options = options.Value;
        _platform = platform;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AwsClientFactory>();
        _http = new Lazy<HttpClient>(() => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = _options.RequestTimeout,
        });
    }

    public AwsOptions Options => _options;

    public RegionEndpoint Region => RegionEndpoint.GetBySystemName(_options.Region);

    /// <summary>Assumes the role now (or reuses live credentials), surfacing STS refusals as <c>access_denied</c>. Returns the expiry.</summary>
    public async Task<DateTime> EnsureRoleAsync(CustomerRole role, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var credentials = Session(role).Credentials;
        await credentials.GetCredentialsAsync();
        return credentials.Expiration ?? DateTime.UtcNow;
    }

    /// <summary>An S3 client acting as the role; shared per integration, do not dispose it.</summary>
    public IAmazonS3 S3(CustomerRole role) => Session(role).S3;

    /// <summary>For the requests signed by hand (keys with a leading slash).</summary>
    internal HttpClient Http => _http.Value;

    /// <summary>The role's credentials for signing requests by hand (the tagging API). Internal: never hand them out.</summary>
    internal AWSCredentials Credentials(CustomerRole role) => Session(role).Credentials;

    /// <summary>
    /// Forgets the role's temporary credentials so that the next call assumes the role again; used when AWS answers
    /// ExpiredToken although the cache thought them valid (clock skew, revoked session).
    /// </summary>
    public void InvalidateCredentials(CustomerRole role) => Session(role).Credentials.Invalidate();

    /// <summary>
    /// Maps a failed call made as the role (<see cref="AwsErrors.Map"/>); when AWS rejected the role's session itself
    /// (<see cref="AwsErrors.IsRejectedSession"/>), the cached session is dropped first, so the retry assumes the role again.
    /// </summary>
    public CurWorkflows.Cur.CurException MapFailure(CustomerRole role, Exception exception, AwsCall call, string target)
    {
        if (AwsErrors.IsRejectedSession(exception))
        {
            InvalidateCredentials(role);
        }

        return AwsErrors.Map(exception, call, target);
    }

    /// <summary>Drops the cached credentials and clients of an integration (on disable).</summary>
    public void Forget(string integrationId)
    {
        foreach (var key in _sessions.Keys.Where(k => k.IntegrationId == integrationId))
        {
            if (_sessions.TryRemove(key, out var session) && session.IsValueCreated)
            {
                session.Value.Dispose();
            }
        }
    }

    public void Dispose()
    {
        foreach (var session in _sessions.Values.Where(s => s.IsValueCreated))
        {
            session.Value.Dispose();
        }

        _sessions.Clear();
        _sts?.Dispose();

        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }

    public override string ToString() => nameof(AwsClientFactory);

    /// <summary>
    /// Who the platform's own credentials are (STS GetCallerIdentity, which needs no permission): checks them without
    /// touching any customer's role. Failures come as <see cref="CurWorkflows.Cur.CurException"/> (<c>transient</c>).
    /// </summary>
    public async Task<PlatformIdentity> GetPlatformIdentityAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await Sts.GetCallerIdentityAsync(new GetCallerIdentityRequest(), cancellationToken);
            return new PlatformIdentity(response.Arn, response.Account);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw AwsErrors.Map(ex, AwsCall.GetCallerIdentity, "of the platform");
        }
    }

    internal static string SessionName(string integrationId)
    {
        var name = "curworkflows-" + InvalidSessionCharacters().Replace(integrationId, "-");
        return name.Length > 64 ? name[..64] : name;
    }

    private CustomerSession Session(CustomerRole role)
    {
        var key = new CacheKey(role.IntegrationId, role.RoleArn, Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(role.ExternalId))));
        return _sessions.GetOrAdd(key, _ => new Lazy<CustomerSession>(() => new CustomerSession(this, role))).Value;
    }

    /// <summary>Created on first use; a failure (credentials not resolvable yet) is not remembered.</summary>
    private AmazonSecurityTokenServiceClient Sts
    {
        get
        {
            lock (_stsSync)
            {
                return _sts ??= CreateStsClient();
            }
        }
    }

    private AmazonSecurityTokenServiceClient CreateStsClient()
    {
        var config = new AmazonSecurityTokenServiceConfig
        {
            RegionEndpoint = Region,
            Timeout = _options.RequestTimeout,
            MaxErrorRetry = _options.MaxErrorRetry,
            RetryMode = RequestRetryMode.Standard,

            // The SDK's request metrics include the canonical request, and with it the session token; responses
            // of AssumeRole hold the secret key. Both stay off whatever AWSConfigs.LoggingConfig says.
            LogMetrics = false,
            LogResponse = false,
        };
        if (!string.IsNullOrWhiteSpace(_options.StsServiceUrl))
        {
            config.ServiceURL = _options.StsServiceUrl;
            config.AuthenticationRegion = _options.Region;
        }

        AWSCredentials platform;
        try
        {
            platform = _platform.Credentials;
        }
        catch (AmazonClientException ex)
        {
            throw new PlatformCredentialsException(
                $"{AwsErrors.PlatformCredentialsProblem} could not be resolved (environment, profile or instance role): {ex.Message}", ex);
        }

        return new AmazonSecurityTokenServiceClient(platform, config);
    }

    private AmazonS3Client CreateS3Client(AWSCredentials credentials)
    {
        var config = new AmazonS3Config
        {
            RegionEndpoint = Region,
            ForcePathStyle = _options.S3ForcePathStyle,
            Timeout = _options.RequestTimeout,
            MaxErrorRetry = _options.MaxErrorRetry,
            RetryMode = RequestRetryMode.Standard,

            // The SDK's request metrics include the canonical request, and with it the session token; responses
            // of AssumeRole hold the secret key. Both stay off whatever AWSConfigs.LoggingConfig says.
            LogMetrics = false,
            LogResponse = false,
        };
        if (!string.IsNullOrWhiteSpace(_options.S3ServiceUrl))
        {
            config.ServiceURL = _options.S3ServiceUrl;
            config.AuthenticationRegion = _options.Region;
        }

        return new AmazonS3Client(credentials, config);
    }

    [GeneratedRegex(@"[^\w+=,.@-]", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidSessionCharacters();

    [LoggerMessage(Level = LogLevel.Information, Message = "Assumed {RoleArn} for integration {IntegrationId}; credentials valid until {Expiration:O}")]
    private static partial void LogAssumed(ILogger logger, string roleArn, string integrationId, DateTime expiration);

    // A refusal is the customer's set-up, which the failed run reports; a transient fault is ours to watch.
    [LoggerMessage(Message = "AssumeRole {RoleArn} for integration {IntegrationId} failed: {Code}")]
    private static partial void LogAssumeFailed(ILogger logger, LogLevel level, string roleArn, string integrationId, string code);

    private sealed record CacheKey(string IntegrationId, string RoleArn, string ExternalIdHash);

    private sealed class CustomerSession : IDisposable
    {
        private readonly Lazy<AmazonS3Client> _s3;

        public CustomerSession(AwsClientFactory factory, CustomerRole role)
        {
            Credentials = new CustomerRoleCredentials(factory, role)
            {
                PreemptExpiryTime = factory._options.CredentialRefreshMargin,
                ExpirationBuffer = TimeSpan.Zero,
            };
            _s3 = new Lazy<AmazonS3Client>(() => factory.CreateS3Client(Credentials));
        }

        public CustomerRoleCredentials Credentials { get; }

        public AmazonS3Client S3 => _s3.Value;

        public void Dispose()
        {
            if (_s3.IsValueCreated)
            {
                _s3.Value.Dispose();
            }

            Credentials.Dispose();
        }
    }

    /// <summary>Credentials that call STS AssumeRole with the external id and renew themselves before expiry.</summary>
    private sealed class CustomerRoleCredentials(AwsClientFactory factory, CustomerRole role) : RefreshingAWSCredentials
    {
        protected override CredentialsRefreshState GenerateNewCredentials() =>
            GenerateNewCredentialsAsync().GetAwaiter().GetResult();

        protected override async Task<CredentialsRefreshState> GenerateNewCredentialsAsync()
        {
            var request = new AssumeRoleRequest
            {
                RoleArn = role.RoleArn,
                ExternalId = role.ExternalId,
                RoleSessionName = SessionName(role.IntegrationId),
                DurationSeconds = (int)factory._options.SessionDuration.TotalSeconds,
            };
            try
            {
                var response = await factory.Sts.AssumeRoleAsync(request);
                var credentials = response.Credentials;
                var expiration = credentials.Expiration?.ToUniversalTime() ?? DateTime.UtcNow.Add(factory._options.SessionDuration);
                LogAssumed(factory._logger, role.RoleArn, role.IntegrationId, expiration);
                return new CredentialsRefreshState(
                    new ImmutableCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken), expiration);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ex.Message.Contains("cancel", StringComparison.OrdinalIgnoreCase))
            {
                var mapped = AwsErrors.Map(ex, AwsCall.AssumeRole, role.RoleArn);
                LogAssumeFailed(
                    factory._logger, CurErrorCodes.IsRetryable(mapped.Code) ? LogLevel.Warning : LogLevel.Information, role.RoleArn, role.IntegrationId, mapped.Code);
                throw mapped;
            }
        }

        public void Invalidate() => ClearCredentials();

        public override string ToString() => $"CustomerRoleCredentials({role.RoleArn})";
    }
}
