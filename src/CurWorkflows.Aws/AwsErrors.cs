using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SecurityToken;
using CurWorkflows.Cur;

namespace CurWorkflows.Aws;

/// <summary>What a failed call was doing; the same S3 403 means different things for a listing and a download.</summary>
public enum AwsCall
{
    AssumeRole,
    GetCallerIdentity,
    ListBucket,
    GetObject,
    GetResources,
}

/// <summary>
/// A <c>transient</c> failure whose cause is the platform's own AWS credentials (missing, or refused by STS), not the
/// customer's role: the operator fixes it, and retries then succeed.
/// </summary>
public sealed class PlatformCredentialsException(string message, Exception? innerException = null)
    : CurException(CurErrorCodes.Transient, message, innerException);

/// <summary>Maps AWS SDK and network failures to <see cref="CurException"/> with the stable codes of the design.</summary>
public static partial class AwsErrors
{
    public static CurException Map(Exception exception, AwsCall call, string target)
    {
        if (exception is CurException cur)
        {
            return cur;
        }

        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is CurException wrapped)
            {
                return wrapped;
            }
        }

        return exception switch
        {
            AmazonSecurityTokenServiceException sts => MapSts(sts, target),
            AmazonS3Exception s3 => MapS3(s3, call, target),
            AmazonServiceException service when IsTransientStatus(service.StatusCode) || service.StatusCode == 0 =>
                new CurException(CurErrorCodes.Transient, $"{Describe(call)} {target} failed ({service.ErrorCode ?? service.StatusCode.ToString()}): {SafeMessage(service.Message)}", exception),
            AmazonServiceException service =>
                new CurException(CurErrorCodes.AccessDenied, $"{Describe(call)} {target} was refused ({service.ErrorCode}): {SafeMessage(service.Message)}", exception),
            AmazonClientException client when client.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) && IsNetwork(client.InnerException) is false =>
                new PlatformCredentialsException($"{Describe(call)} {target}: {PlatformCredentialsProblem} could not be resolved: {client.Message}", exception),
            _ when IsNetwork(exception) =>
                new CurException(CurErrorCodes.Transient, $"{Describe(call)} {target} failed: {exception.GetType().Name}: {exception.Message}", exception),
            _ => new CurException(CurErrorCodes.Transient, $"{Describe(call)} {target} failed unexpectedly: {exception.GetType().Name}: {exception.Message}", exception),
        };
    }

    /// <summary>
    /// S3's answers to a request whose temporary credentials it does not take: expired, or unknown to it (a session it
    /// no longer knows, a token it cannot read). Not the customer's doing: the role is assumed again and the call retried.
    /// </summary>
    public static bool IsRejectedSessionCode(string? code) => code is "ExpiredToken" or "ExpiredTokenException" or "InvalidAccessKeyId" or "InvalidToken";

    /// <summary>True when AWS refused the request's temporary credentials themselves (<see cref="IsRejectedSessionCode"/>):
    /// the cached session is dropped, so that the next call assumes the role again.</summary>
    public static bool IsRejectedSession(Exception exception) =>
        exception is AmazonServiceException service && IsRejectedSessionCode(service.ErrorCode)
        || (exception.InnerException is { } inner && IsRejectedSession(inner));

    /// <summary>Network-level failures worth retrying: resets, timeouts, refused connections, truncated bodies.</summary>
    public static bool IsNetwork(Exception? exception) =>
        exception switch
        {
            null => false,
            HttpRequestException or IOException or SocketException or TimeoutException or TaskCanceledException => true,
            AmazonClientException client => IsNetwork(client.InnerException),
            _ => IsNetwork(exception.InnerException),
        };

    private static CurException MapSts(AmazonSecurityTokenServiceException sts, string target)
    {
        if (IsTransientStatus(sts.StatusCode) || sts.ErrorCode is "Throttling" or "ThrottlingException" or "RequestLimitExceeded")
        {
            return new CurException(CurErrorCodes.Transient, $"AssumeRole {target} failed ({sts.ErrorCode}), will retry: {SafeMessage(sts.Message)}", sts);
        }

        if (IsPlatformCredentialsRefused(sts))
        {
            return new PlatformCredentialsException(
                $"AssumeRole {target} failed because STS refused {PlatformCredentialsProblem} ({sts.ErrorCode}), will retry: {SafeMessage(sts.Message)}", sts);
        }

        // AccessDenied (trust policy, wrong external id, or the platform's account not trusted), RegionDisabled, ...
        return new CurException(CurErrorCodes.AccessDenied,
            $"AssumeRole {target} was refused ({sts.ErrorCode}): check the role's trust policy, the platform account id and the external id. {SafeMessage(sts.Message)}", sts);
    }

    /// <summary>
    /// STS rejected the caller's own keys or signature: the platform's credentials are wrong, expired or missing. Not the
    /// customer's doing (their role is never looked at), so it is not <c>access_denied</c>; the operator fixes it and
    /// retries then succeed.
    /// </summary>
    public static bool IsPlatformCredentialsRefused(AmazonServiceException exception) =>
        exception.ErrorCode is "InvalidClientTokenId" or "SignatureDoesNotMatch" or "IncompleteSignature"
            or "MissingAuthenticationToken" or "MissingAuthenticationTokenException" or "ExpiredToken" or "ExpiredTokenException";

    internal const string RejectedSession = "S3 did not take the session of the customer's role; the role is assumed again and the call retried";

    /// <summary>
    /// The part of an AWS error message that may go into logs, the run's history and the API. A refused signature's
    /// message quotes the canonical request AWS expected, headers and all: with temporary credentials, the session token.
    /// What follows the first line, or the quote, is left out; a token or signature named in the rest is masked.
    /// </summary>
    public static string SafeMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return "";
        }

        var end = message.Length;
        foreach (var marker in (ReadOnlySpan<string>)["\n", "\r", "Canonical String", "canonical request", "String-to-Sign", "StringToSign"])
        {
            var at = message.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
            end = at >= 0 ? Math.Min(end, at) : end;
        }

        var safe = SecretValues().Replace(message[..end].TrimEnd(), "$1$2[masked]");
        return safe.Length > 512 ? safe[..512] + "..." : safe;
    }

    [GeneratedRegex(@"(x-amz-security-token|x-amz-credential|x-amz-signature|security-token|sessiontoken|session_token|signature)(\s*[=:]\s*)[^\s&,;'""]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretValues();

    internal const string PlatformCredentialsProblem = "the platform's own AWS credentials (not the customer's role)";

    private static CurException MapS3(AmazonS3Exception s3, AwsCall call, string target)
    {
        var code = s3.ErrorCode ?? string.Empty;
        if (code is "SlowDown" or "InternalError" or "ServiceUnavailable" or "RequestTimeout" or "RequestTimeTooSkewed"
                or "PreconditionFailed" or "OperationAborted"
            || IsTransientStatus(s3.StatusCode) || s3.StatusCode == 0)
        {
            return new CurException(CurErrorCodes.Transient, $"{Describe(call)} {target} failed ({Code(s3)}), will retry: {SafeMessage(s3.Message)}", s3);
        }

        if (IsRejectedSessionCode(code))
        {
            return new CurException(CurErrorCodes.Transient, $"{Describe(call)} {target} failed: {RejectedSession} ({code}). {SafeMessage(s3.Message)}", s3);
        }

        if (code == "NoSuchBucket" || (s3.StatusCode == HttpStatusCode.NotFound && call == AwsCall.ListBucket))
        {
            return new CurException(CurErrorCodes.BucketNotFound, $"Bucket of {target} does not exist ({Code(s3)}).", s3);
        }

        if (call == AwsCall.ListBucket && (code is "AccessDenied" or "AllAccessDisabled" || s3.StatusCode == HttpStatusCode.Forbidden))
        {
            return new CurException(CurErrorCodes.BucketNotFound,
                $"Listing {target} was refused ({Code(s3)}): the bucket does not exist in the customer's account or the role lacks s3:ListBucket.", s3);
        }

        if (code == "NoSuchKey" || s3.StatusCode == HttpStatusCode.NotFound)
        {
            return new CurException(CurErrorCodes.ReportNotFound, $"{target} does not exist ({Code(s3)}).", s3);
        }

        return new CurException(CurErrorCodes.AccessDenied, $"{Describe(call)} {target} was refused ({Code(s3)}): {SafeMessage(s3.Message)}", s3);
    }

    private static string Code(AmazonServiceException exception) =>
        string.IsNullOrEmpty(exception.ErrorCode) ? ((int)exception.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : exception.ErrorCode;

    private static bool IsTransientStatus(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;

    private static string Describe(AwsCall call) => call switch
    {
        AwsCall.AssumeRole => "AssumeRole",
        AwsCall.GetCallerIdentity => "GetCallerIdentity",
        AwsCall.ListBucket => "Listing",
        AwsCall.GetObject => "Reading",
        _ => "Tag lookup",
    };
}
