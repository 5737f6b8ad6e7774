using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Amazon.Runtime.Signing;
using CurWorkflows.Cur;

namespace CurWorkflows.Aws;

/// <summary>The response to a hand-signed S3 GET or HEAD.</summary>
internal sealed record RawObjectResponse(HttpResponseMessage Response, long ContentLength, string ETag) : IDisposable
{
    /// <summary>Whether the object's ETag is not the MD5 of its content (<see cref="ObjectETags.IsNotContentMd5"/>).</summary>
    public bool ETagIsNotContentMd5 => ObjectETags.IsNotContentMd5(
        Response.Headers.TryGetValues("x-amz-server-side-encryption", out var sse) ? sse.FirstOrDefault() : null,
        Response.Headers.TryGetValues("x-amz-server-side-encryption-customer-algorithm", out var customer) ? customer.FirstOrDefault() : null);

    public void Dispose() => Response.Dispose();
}

/// <summary>
/// S3 GET/HEAD for keys that start with <c>/</c> (CUR with an empty prefix). AWSSDK.S3 4.1 drops a key's leading
/// slash from the request path but keeps it in the signed canonical path (and presigned URLs lose it too), so
/// those requests fail with SignatureDoesNotMatch or address another object. These requests are built here with
/// the real key in the path and signed with the SigV4 signer of AWSSDK.Core.
/// </summary>
internal static class LeadingSlashKeys
{
    private const string EmptyBodySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    public static bool Applies(string key) => key.StartsWith('/');

    public static async Task<RawObjectResponse> SendAsync(
        AwsClientFactory clients, CustomerRole role, HttpMethod method, string bucket, string key,
        (long From, long To)? range, string? ifMatch, AwsCall call, CancellationToken cancellationToken)
    {
        var uri = ObjectUri(clients.Options, bucket, key);
        var signingRequest = new AWSSigningRequest { HttpMethod = method, RequestUri = uri, Content = [] };
        var signed = await AWSSigV4Signer.SignAsync(signingRequest, new AWSSigV4Parameters
        {
            Credentials = clients.Credentials(role),
            Region = clients.Region,
            Service = "s3",
            SignPayload = true,
        }, cancellationToken);

        var request = new HttpRequestMessage(method, uri);
        // S3 requires the payload hash header; the body of a GET or HEAD is empty.
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", EmptyBodySha256);
        foreach (var (name, value) in (IEnumerable<KeyValuePair<string, string>>)signed.Headers)
        {
            if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !name.Equals("x-amz-content-sha256", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (range is { } r)
        {
            request.Headers.Range = new RangeHeaderValue(r.From, r.To);
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        HttpResponseMessage response;
        try
        {
            response = await clients.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            request.Dispose();
            throw AwsErrors.Map(ex, call, $"s3://{bucket}/{key}");
        }

        if (response.IsSuccessStatusCode)
        {
            return new RawObjectResponse(response, response.Content.Headers.ContentLength ?? 0, response.Headers.ETag?.ToString() ?? string.Empty);
        }

        using (response)
        {
            var body = method == HttpMethod.Head ? string.Empty : await response.Content.ReadAsStringAsync(cancellationToken);
            var code = ErrorCode(body) ?? response.StatusCode.ToString();
            var target = $"s3://{bucket}/{key}";
            if (AwsErrors.IsRejectedSessionCode(code))
            {
                clients.InvalidateCredentials(role);
            }

            throw (response.StatusCode, code) switch
            {
                (HttpStatusCode.PreconditionFailed, _) => new CurException(CurErrorCodes.Transient, $"{target} changed during the download ({code})"),
                (HttpStatusCode.NotFound, "NoSuchBucket") => new CurException(CurErrorCodes.BucketNotFound, $"Bucket of {target} does not exist ({code})."),
                (HttpStatusCode.NotFound, _) => new CurException(CurErrorCodes.ReportNotFound, $"{target} does not exist ({code})."),
                _ when AwsErrors.IsRejectedSessionCode(code) => new CurException(CurErrorCodes.Transient, $"Reading {target} failed: {AwsErrors.RejectedSession} ({code})."),
                (_, "SlowDown" or "InternalError" or "RequestTimeout") => new CurException(CurErrorCodes.Transient, $"Reading {target} failed ({code}), will retry."),
                _ when (int)response.StatusCode >= 500 => new CurException(CurErrorCodes.Transient, $"Reading {target} failed ({code}), will retry."),
                _ => new CurException(CurErrorCodes.AccessDenied, $"Reading {target} was refused ({code})."),
            };
        }
    }

    internal static Uri ObjectUri(AwsOptions options, string bucket, string key)
    {
        var encodedKey = string.Join("/", key.Split('/').Select(Uri.EscapeDataString));
        if (!string.IsNullOrWhiteSpace(options.S3ServiceUrl))
        {
            var service = new Uri(options.S3ServiceUrl);
            var basePath = service.AbsolutePath.TrimEnd('/');
            return options.S3ForcePathStyle
                ? new Uri($"{service.Scheme}://{service.Authority}{basePath}/{Uri.EscapeDataString(bucket)}/{encodedKey}")
                : new Uri($"{service.Scheme}://{bucket}.{service.Authority}{basePath}/{encodedKey}");
        }

        return options.S3ForcePathStyle
            ? new Uri(string.Create(CultureInfo.InvariantCulture, $"https://s3.{options.Region}.amazonaws.com/{bucket}/{encodedKey}"))
            : new Uri(string.Create(CultureInfo.InvariantCulture, $"https://{bucket}.s3.{options.Region}.amazonaws.com/{encodedKey}"));
    }

    private static string? ErrorCode(string body)
    {
        var start = body.IndexOf("<Code>", StringComparison.Ordinal);
        var end = body.IndexOf("</Code>", StringComparison.Ordinal);
        return start >= 0 && end > start ? body[(start + 6)..end] : null;
    }
}
