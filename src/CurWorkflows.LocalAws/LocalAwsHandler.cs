using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace CurWorkflows.LocalAws;

/// <summary>Dispatches every request by the service of its SigV4 credential scope: sts, s3 or tagging.</summary>
internal sealed partial class LocalAwsHandler(LocalAwsState state, ILogger<LocalAwsHandler> logger)
{
    private const int MaxSmallBody = 1 << 20;
    private const string TaggingTarget = "ResourceGroupsTaggingAPI_20170126.GetResources";
    private static readonly XNamespace S3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
    private static readonly XNamespace StsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

    public Task HandleAsync(HttpContext context)
    {
        var authorization = SigV4Authorization.TryParse(context.Request.Headers.Authorization.ToString());
        return authorization?.Service switch
        {
            "sts" => HandleStsAsync(context, authorization),
            "tagging" => HandleTaggingAsync(context, authorization),
            _ => HandleS3Async(context, authorization),
        };
    }

    // ---------------------------------------------------------------- STS

    private async Task HandleStsAsync(HttpContext context, SigV4Authorization authorization)
    {
        var body = await ReadSmallBodyAsync(context.Request);
        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        var action = form.TryGetValue("Action", out var a) ? a.ToString() : string.Empty;
        if (action is not (LocalAwsOperations.AssumeRole or LocalAwsOperations.GetCallerIdentity))
        {
            await StsErrorAsync(context, 400, "InvalidAction", $"Could not find operation {action} for version 2011-06-15");
            return;
        }

        state.Counters.CountRequest(action);
        var identity = state.Identities.Find(authorization.AccessKeyId);
        if (identity is null && !state.Identities.RequirePlatformSignature)
        {
            identity = new SigningIdentity { Kind = IdentityKind.Platform, AccessKeyId = authorization.AccessKeyId, SecretAccessKey = string.Empty };
        }
        else
        {
            var failure = identity is null
                ? SignatureFailure.UnknownAccessKey
                : SigV4Verifier.Verify(context.Request, authorization, identity, HashedPayload(context.Request, body), state.Options.AllowedClockSkew);
            if (failure != SignatureFailure.None)
            {
                var (status, code, message) = failure switch
                {
                    SignatureFailure.UnknownAccessKey => (403, "InvalidClientTokenId", "The security token included in the request is invalid."),
                    SignatureFailure.Expired => (403, "ExpiredToken", "The security token included in the request is expired"),
                    SignatureFailure.RequestTimeTooSkewed => (403, "SignatureDoesNotMatch", "Signature expired: the request time is too skewed."),
                    _ => (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."),
                };
                await StsErrorAsync(context, status, code, message);
                return;
            }
        }

        if (await InjectSimpleFaultAsync(context, action, Protocol.Sts))
        {
            return;
        }

        if (action == LocalAwsOperations.GetCallerIdentity)
        {
            await WriteCallerIdentityAsync(context, identity!);
            return;
        }

        var roleArn = form.TryGetValue("RoleArn", out var r) ? r.ToString() : string.Empty;
        var sessionName = form.TryGetValue("RoleSessionName", out var s) ? s.ToString() : string.Empty;
        var externalId = form.TryGetValue("ExternalId", out var e) ? e.ToString() : null;
        if (!SessionNamePattern().IsMatch(sessionName))
        {
            await StsErrorAsync(context, 400, "ValidationError", "RoleSessionName must be 2-64 characters of [\\w+=,.@-]");
            return;
        }

        var duration = state.Options.DefaultSessionDuration;
        if (form.TryGetValue("DurationSeconds", out var d))
        {
            if (!int.TryParse(d.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds is < 900 or > 43200)
            {
                await StsErrorAsync(context, 400, "ValidationError", "DurationSeconds must be between 900 and 43200");
                return;
            }

            duration = TimeSpan.FromSeconds(seconds);
        }

        var denied = identity!.Kind != IdentityKind.Platform
                     || !state.Roles.TryGetValue(roleArn, out var role)
                     || (role.Trust.ExternalId is not null && !FixedTimeEquals(role.Trust.ExternalId, externalId));
        if (denied)
        {
            LogAssumeRoleRefused(logger, roleArn);
            await StsErrorAsync(context, 403, "AccessDenied",
                $"User: arn:aws:iam::{state.Options.AccountId}:user/platform is not authorized to perform: sts:AssumeRole on resource: {roleArn}");
            return;
        }

        var session = state.Identities.IssueSession(roleArn, state.Roles[roleArn].Policy, duration);
        LogAssumeRoleGranted(logger, roleArn, sessionName);
        var roleName = RoleName(roleArn);
        var xml = new XElement(StsNamespace + "AssumeRoleResponse",
            new XElement(StsNamespace + "AssumeRoleResult",
                new XElement(StsNamespace + "Credentials",
                    new XElement(StsNamespace + "AccessKeyId", session.AccessKeyId),
                    new XElement(StsNamespace + "SecretAccessKey", session.SecretAccessKey),
                    new XElement(StsNamespace + "SessionToken", session.SessionToken),
                    new XElement(StsNamespace + "Expiration", session.Expiration!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))),
                new XElement(StsNamespace + "AssumedRoleUser",
                    new XElement(StsNamespace + "AssumedRoleId", $"AROA{session.AccessKeyId[4..]}:{sessionName}"),
                    new XElement(StsNamespace + "Arn", $"arn:aws:sts::{state.Options.AccountId}:assumed-role/{roleName}/{sessionName}"))),
            new XElement(StsNamespace + "ResponseMetadata", new XElement(StsNamespace + "RequestId", Guid.NewGuid().ToString())));
        await WriteXmlAsync(context, 200, xml);
    }

    /// <summary>STS GetCallerIdentity: needs no permission, so it answers for any valid signature.</summary>
    private Task WriteCallerIdentityAsync(HttpContext context, SigningIdentity identity)
    {
        var account = state.Options.AccountId;
        var (arn, userId) = identity.Kind switch
        {
            IdentityKind.AssumedRole => (
                $"arn:aws:sts::{account}:assumed-role/{RoleName(identity.AssumedRoleArn!)}/session",
                $"AROA{identity.AccessKeyId[4..]}:session"),
            IdentityKind.Admin => ($"arn:aws:iam::{account}:user/admin", "AIDAADMIN"),
            _ => ($"arn:aws:iam::{account}:user/platform", "AIDAPLATFORM"),
        };
        var xml = new XElement(StsNamespace + "GetCallerIdentityResponse",
            new XElement(StsNamespace + "GetCallerIdentityResult",
                new XElement(StsNamespace + "Arn", arn),
                new XElement(StsNamespace + "UserId", userId),
                new XElement(StsNamespace + "Account", account)),
            new XElement(StsNamespace + "ResponseMetadata", new XElement(StsNamespace + "RequestId", Guid.NewGuid().ToString())));
        return WriteXmlAsync(context, 200, xml);
    }

    private static string RoleName(string roleArn) => roleArn[(roleArn.LastIndexOf('/') + 1)..];

    // ---------------------------------------------------------------- S3

    private async Task HandleS3Async(HttpContext context, SigV4Authorization? authorization)
    {
        var request = context.Request;
        var (bucket, key, query) = ParseS3Target(context);
        var operation = (request.Method, bucket.Length == 0, string.IsNullOrEmpty(key)) switch
        {
            (_, true, _) => null,
            ("GET", false, true) when query.TryGetValue("list-type", out var lt) && lt == "2" => LocalAwsOperations.ListObjectsV2,
            ("HEAD", false, true) => LocalAwsOperations.HeadBucket,
            ("PUT", false, true) when query.Count == 0 => LocalAwsOperations.CreateBucket,
            ("GET", false, false) when query.Count == 0 || query.Keys.All(k => k.StartsWith("response-", StringComparison.Ordinal) || k == "x-id") => LocalAwsOperations.GetObject,
            ("HEAD", false, false) => LocalAwsOperations.HeadObject,
            ("PUT", false, false) when query.Count == 0 || query.Keys.All(k => k == "x-id") => LocalAwsOperations.PutObject,
            _ => null,
        };
        if (operation is null)
        {
            await S3ErrorAsync(context, 501, "NotImplemented", "The local endpoint does not implement this S3 operation.");
            return;
        }

        state.Counters.CountRequest(operation);
        if (authorization is null)
        {
            await S3ErrorAsync(context, 403, "AccessDenied", "Access Denied (the request is not signed with SigV4)");
            return;
        }

        var payloadHash = request.Headers["x-amz-content-sha256"].ToString();
        if (payloadHash.Length == 0)
        {
            await S3ErrorAsync(context, 400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
            return;
        }

        var identity = state.Identities.Find(authorization.AccessKeyId);
        var failure = identity is null
            ? SignatureFailure.UnknownAccessKey
            : SigV4Verifier.Verify(request, authorization, identity, payloadHash, state.Options.AllowedClockSkew);
        if (failure != SignatureFailure.None)
        {
            var (status, code, message) = failure switch
            {
                SignatureFailure.UnknownAccessKey => (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
                SignatureFailure.Expired => (400, "ExpiredToken", "The provided token has expired."),
                SignatureFailure.InvalidToken => (400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
                SignatureFailure.RequestTimeTooSkewed => (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
                SignatureFailure.Malformed => (400, "AuthorizationHeaderMalformed", "The authorization header is malformed."),
                _ => (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
            };
            await S3ErrorAsync(context, status, code, message);
            return;
        }

        var (iamAction, resource) = operation switch
        {
            LocalAwsOperations.ListObjectsV2 or LocalAwsOperations.HeadBucket => ("s3:ListBucket", $"arn:aws:s3:::{bucket}"),
            LocalAwsOperations.CreateBucket => ("s3:CreateBucket", $"arn:aws:s3:::{bucket}"),
            LocalAwsOperations.PutObject => ("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}"),
            _ => ("s3:GetObject", $"arn:aws:s3:::{bucket}/{key}"),
        };
        if (!IsAuthorized(identity!, iamAction, resource))
        {
            LogPolicyDenied(logger, iamAction, resource);
            await S3ErrorAsync(context, 403, "AccessDenied", "Access Denied");
            return;
        }

        if (await InjectSimpleFaultAsync(context, operation, Protocol.S3))
        {
            return;
        }

        if (operation == LocalAwsOperations.CreateBucket)
        {
            state.Objects.CreateBucket(bucket);
            context.Response.Headers.Location = "/" + bucket;
            return;
        }

        var target = state.Objects.FindBucket(bucket);
        if (target is null)
        {
            await S3ErrorAsync(context, 404, "NoSuchBucket", "The specified bucket does not exist", ("BucketName", bucket));
            return;
        }

        switch (operation)
        {
            case LocalAwsOperations.HeadBucket:
                return;
            case LocalAwsOperations.ListObjectsV2:
                await ListObjectsV2Async(context, target, query);
                return;
            case LocalAwsOperations.PutObject:
                await PutObjectAsync(context, bucket, key!, payloadHash);
                return;
            default:
                await GetObjectAsync(context, bucket, key!, operation == LocalAwsOperations.HeadObject);
                return;
        }
    }

    private async Task ListObjectsV2Async(HttpContext context, LocalBucket bucket, Dictionary<string, string> query)
    {
        var prefix = query.GetValueOrDefault("prefix") ?? string.Empty;
        var continuationToken = query.GetValueOrDefault("continuation-token");
        var startAfter = query.GetValueOrDefault("start-after");
        var urlEncoded = query.GetValueOrDefault("encoding-type") == "url";
        if (query.ContainsKey("delimiter"))
        {
            await S3ErrorAsync(context, 501, "NotImplemented", "delimiter is not implemented by the local endpoint");
            return;
        }

        var maxKeys = 1000;
        if (query.TryGetValue("max-keys", out var mk) && (!int.TryParse(mk, NumberStyles.None, CultureInfo.InvariantCulture, out maxKeys) || maxKeys < 0))
        {
            await S3ErrorAsync(context, 400, "InvalidArgument", "Provided max-keys not an integer or within integer range");
            return;
        }

        maxKeys = Math.Min(maxKeys, 1000);
        string? after = startAfter;
        if (continuationToken is not null)
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(continuationToken));
            }
            catch (FormatException)
            {
                await S3ErrorAsync(context, 400, "InvalidArgument", "The continuation token provided is incorrect");
                return;
            }
        }

        List<StoredObject> page;
        bool truncated;
        lock (bucket.Sync)
        {
            var candidates = bucket.Objects.Values
                .Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)
                            && (after is null || string.CompareOrdinal(o.Key, after) > 0));
            page = candidates.Take(maxKeys + 1).ToList();
        }

        truncated = page.Count > maxKeys;
        if (truncated)
        {
            page.RemoveAt(page.Count - 1);
        }

        string Encode(string value) => urlEncoded ? Uri.EscapeDataString(value) : value;
        var xml = new XElement(S3Namespace + "ListBucketResult",
            new XElement(S3Namespace + "Name", bucket.Name),
            new XElement(S3Namespace + "Prefix", Encode(prefix)),
            new XElement(S3Namespace + "KeyCount", page.Count),
            new XElement(S3Namespace + "MaxKeys", maxKeys),
            urlEncoded ? new XElement(S3Namespace + "EncodingType", "url") : null,
            new XElement(S3Namespace + "IsTruncated", truncated ? "true" : "false"),
            continuationToken is null ? null : new XElement(S3Namespace + "ContinuationToken", continuationToken),
            startAfter is null ? null : new XElement(S3Namespace + "StartAfter", Encode(startAfter)),
            truncated && page.Count > 0
                ? new XElement(S3Namespace + "NextContinuationToken", Convert.ToBase64String(Encoding.UTF8.GetBytes(page[^1].Key)))
                : null,
            page.Select(o => new XElement(S3Namespace + "Contents",
                new XElement(S3Namespace + "Key", Encode(o.Key)),
                new XElement(S3Namespace + "LastModified", o.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
                new XElement(S3Namespace + "ETag", o.ETag),
                new XElement(S3Namespace + "Size", o.Size),
                new XElement(S3Namespace + "StorageClass", "STANDARD"))));
        await WriteXmlAsync(context, 200, xml);
    }

    private async Task GetObjectAsync(HttpContext context, string bucket, string key, bool headOnly)
    {
        var stored = state.Objects.GetObject(bucket, key);
        if (stored is null)
        {
            await S3ErrorAsync(context, 404, "NoSuchKey", "The specified key does not exist.", ("Key", key));
            return;
        }

        var ifMatch = context.Request.Headers.IfMatch.ToString();
        if (ifMatch.Length > 0 && ifMatch != "*" && ifMatch.Trim() != stored.ETag)
        {
            await S3ErrorAsync(context, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", ("Condition", "If-Match"));
            return;
        }

        long start = 0, end = stored.Size - 1;
        var range = context.Request.Headers.Range.ToString();
        var partial = range.Length > 0;
        if (partial && !TryParseRange(range, stored.Size, out start, out end))
        {
            context.Response.Headers.ContentRange = $"bytes */{stored.Size}";
            await S3ErrorAsync(context, 416, "InvalidRange", "The requested range is not satisfiable", ("RangeRequested", range));
            return;
        }

        var length = Math.Max(0, end - start + 1);
        var response = context.Response;
        response.StatusCode = partial ? 206 : 200;
        response.ContentLength = length;
        response.ContentType = "application/octet-stream";
        response.Headers.ETag = stored.ETag;
        if (stored.ServerSideEncryption is { } encryption)
        {
            response.Headers["x-amz-server-side-encryption"] = encryption;
        }

        response.Headers.LastModified = stored.LastModified.ToString("R", CultureInfo.InvariantCulture);
        response.Headers.AcceptRanges = "bytes";
        response.Headers["x-amz-request-id"] = NewRequestId();
        if (partial)
        {
            response.Headers.ContentRange = $"bytes {start}-{end}/{stored.Size}";
        }

        if (headOnly)
        {
            return;
        }

        state.Counters.AddBytesRequested(length);
        var fault = state.Faults.Take(LocalAwsOperations.GetObject + ":body");
        await using var source = stored.OpenRead();
        source.Seek(start, SeekOrigin.Begin);
        await StreamBodyAsync(context, source, length, fault);
    }

    private async Task StreamBodyAsync(HttpContext context, Stream source, long length, InjectedFault? fault)
    {
        var limit = fault?.Kind == FaultKind.ResetAfterBytes ? Math.Min(fault.AfterBytes, length) : length;
        var chunk = fault?.Kind == FaultKind.SlowBody ? Math.Clamp(fault.BytesPerSecond / 10, 1, 64 * 1024) : 64 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        state.Counters.ObjectBodyStarted();
        try
        {
            long sent = 0;
            while (sent < limit)
            {
                var toRead = (int)Math.Min(chunk, limit - sent);
                var read = await source.ReadAsync(buffer.AsMemory(0, toRead), context.RequestAborted);
                if (read == 0)
                {
                    break;
                }

                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                state.Counters.AddBytesServed(read);
                sent += read;
                if (fault?.Kind == FaultKind.SlowBody)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)read / Math.Max(1, fault.BytesPerSecond)), context.RequestAborted);
                }
            }

            if (fault?.Kind == FaultKind.ResetAfterBytes)
            {
                await context.Response.Body.FlushAsync(context.RequestAborted);

                // Let the bytes already written reach the client before the reset, so that "reset after N bytes"
                // means N bytes delivered (an abort discards whatever is still in the socket buffers).
                await Task.Delay(TimeSpan.FromMilliseconds(300), context.RequestAborted);
                LogConnectionReset(logger, sent);
                context.Abort();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away (a downloader cancelled or restarted): nothing left to send.
        }
        finally
        {
            state.Counters.ObjectBodyEnded();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task PutObjectAsync(HttpContext context, string bucket, string key, string payloadHash)
    {
        var request = context.Request;
        var path = Path.Combine(state.DataDirectory, Guid.NewGuid().ToString("N"));
        using var md5 = ObjectStore.CreateMD5();
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunked = payloadHash.StartsWith("STREAMING-", StringComparison.Ordinal)
                      || request.Headers.ContentEncoding.ToString().Contains("aws-chunked", StringComparison.Ordinal);
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            async Task Write(ReadOnlyMemory<byte> data)
            {
                md5.AppendData(data.Span);
                sha256.AppendData(data.Span);
                await file.WriteAsync(data, context.RequestAborted);
            }

            try
            {
                if (chunked)
                {
                    await AwsChunkedDecoder.DecodeAsync(request.Body, Write, context.RequestAborted);
                }
                else
                {
                    var buffer = new byte[64 * 1024];
                    int read;
                    while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                    {
                        await Write(buffer.AsMemory(0, read));
                    }
                }
            }
            catch (InvalidDataException ex)
            {
                File.Delete(path);
                await S3ErrorAsync(context, 400, "IncompleteBody", ex.Message);
                return;
            }
        }

        if (payloadHash.Length == 64 && !string.Equals(Convert.ToHexStringLower(sha256.GetHashAndReset()), payloadHash, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(path);
            await S3ErrorAsync(context, 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return;
        }

        var eTag = ObjectStore.QuotedMd5(md5.GetHashAndReset());
        var size = new FileInfo(path).Length;
        state.Objects.Add(bucket, new StoredObject(key, null, path, size, eTag, DateTimeOffset.UtcNow));
        context.Response.Headers.ETag = eTag;
        context.Response.Headers["x-amz-request-id"] = NewRequestId();
    }

    // ---------------------------------------------------------------- Tagging

    private async Task HandleTaggingAsync(HttpContext context, SigV4Authorization authorization)
    {
        var body = await ReadSmallBodyAsync(context.Request);
        if (context.Request.Headers["X-Amz-Target"].ToString() != TaggingTarget)
        {
            await JsonErrorAsync(context, 400, "UnknownOperationException", "Only GetResources is implemented by the local endpoint.");
            return;
        }

        state.Counters.CountRequest(LocalAwsOperations.GetResources);
        var identity = state.Identities.Find(authorization.AccessKeyId);
        var failure = identity is null
            ? SignatureFailure.UnknownAccessKey
            : SigV4Verifier.Verify(context.Request, authorization, identity, HashedPayload(context.Request, body), state.Options.AllowedClockSkew);
        if (failure != SignatureFailure.None)
        {
            var (code, message) = failure switch
            {
                SignatureFailure.UnknownAccessKey or SignatureFailure.InvalidToken => ("UnrecognizedClientException", "The security token included in the request is invalid."),
                SignatureFailure.Expired => ("ExpiredTokenException", "The security token included in the request is expired"),
                _ => ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided."),
            };
            await JsonErrorAsync(context, failure == SignatureFailure.UnknownAccessKey ? 400 : 403, code, message);
            return;
        }

        if (!IsAuthorized(identity!, "tag:GetResources", "*"))
        {
            LogPolicyDenied(logger, "tag:GetResources", "*");
            await JsonErrorAsync(context, 400, "AccessDeniedException",
                $"User: {identity!.AssumedRoleArn} is not authorized to perform: tag:GetResources because no identity-based policy allows it");
            return;
        }

        if (state.Faults.Take(LocalAwsOperations.GetResourcesIn(authorization.Region)) is { Kind: FaultKind.AccessDenied })
        {
            await JsonErrorAsync(context, 400, "AccessDeniedException",
                $"User: {identity!.AssumedRoleArn} is not authorized to perform: tag:GetResources with an explicit deny in a service control policy");
            return;
        }

        if (await InjectSimpleFaultAsync(context, LocalAwsOperations.GetResources, Protocol.Json))
        {
            return;
        }

        GetResourcesRequest? input;
        try
        {
            input = JsonSerializer.Deserialize<GetResourcesRequest>(body.Length == 0 ? "{}"u8 : body);
        }
        catch (JsonException ex)
        {
            await JsonErrorAsync(context, 400, "SerializationException", ex.Message);
            return;
        }

        input ??= new GetResourcesRequest();
        var perPage = input.ResourcesPerPage ?? 50;
        if (perPage is < 1 or > 100)
        {
            await JsonErrorAsync(context, 400, "InvalidParameterException", "ResourcesPerPage must be between 1 and 100");
            return;
        }

        var offset = 0;
        if (!string.IsNullOrEmpty(input.PaginationToken) && state.Faults.Take(LocalAwsOperations.GetResourcesNextPage) is not null)
        {
            await JsonErrorAsync(context, 400, "PaginationTokenExpiredException", "The pagination token has expired.");
            return;
        }

        if (!string.IsNullOrEmpty(input.PaginationToken)
            && !int.TryParse(Encoding.UTF8.GetString(Convert.FromBase64String(input.PaginationToken)), NumberStyles.None, CultureInfo.InvariantCulture, out offset))
        {
            await JsonErrorAsync(context, 400, "PaginationTokenExpiredException", "The pagination token is not valid.");
            return;
        }

        var filters = input.TagFilters ?? [];
        var matching = state.Tags
            .Where(resource => InRegion(resource.Key, authorization.Region))
            .Where(resource => filters.All(filter =>
                filter.Key is not null && resource.Value.TryGetValue(filter.Key, out var value)
                && (filter.Values is null || filter.Values.Count == 0 || filter.Values.Contains(value))))
            .OrderBy(resource => resource.Key, StringComparer.Ordinal)
            .ToList();
        var page = matching.Skip(offset).Take(perPage).ToList();
        var next = offset + page.Count < matching.Count ? Convert.ToBase64String(Encoding.UTF8.GetBytes((offset + page.Count).ToString(CultureInfo.InvariantCulture))) : string.Empty;
        var output = new GetResourcesResponse(
            next,
            page.Select(resource => new ResourceTagMapping(
                resource.Key, resource.Value.Select(tag => new TagPair(tag.Key, tag.Value)).ToList())).ToList());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-amz-json-1.1";
        context.Response.Headers["x-amzn-RequestId"] = NewRequestId();
        await JsonSerializer.SerializeAsync(context.Response.Body, output, cancellationToken: context.RequestAborted);
    }

    /// <summary>
    /// As the tagging API: a call answers for the resources of the region it was signed for; resources whose ARN names no
    /// region (S3 buckets, IAM) are answered in us-east-1.
    /// </summary>
    private static bool InRegion(string arn, string region)
    {
        var parts = arn.Split(':');
        var resourceRegion = parts.Length >= 6 ? parts[3] : "";
        return resourceRegion.Length == 0 ? region == "us-east-1" : resourceRegion == region;
    }

    // ---------------------------------------------------------------- shared

    private bool IsAuthorized(SigningIdentity identity, string action, string resource) =>
        identity.Kind switch
        {
            IdentityKind.Admin => true,
            IdentityKind.AssumedRole => identity.Policy is null
                                        || (state.Roles.ContainsKey(identity.AssumedRoleArn!) && identity.Policy.IsAllowed(action, resource)),
            _ => false,
        };

    private enum Protocol
    {
        Sts,
        S3,
        Json,
    }

    /// <summary>Applies a queued status-code fault; body faults (reset, slow) are left for the body writer.</summary>
    private async Task<bool> InjectSimpleFaultAsync(HttpContext context, string operation, Protocol protocol)
    {
        var fault = state.Faults.Take(operation);
        if (fault is null)
        {
            return false;
        }

        LogFaultInjected(logger, fault.Kind, operation);
        switch (fault.Kind)
        {
            case FaultKind.ResetAfterBytes when operation != LocalAwsOperations.GetObject:
                context.Abort();
                return true;
            case FaultKind.ResetAfterBytes or FaultKind.SlowBody:
                // Re-queued under the body key so that GetObject applies it while streaming.
                state.Faults.Add(fault with { Operation = LocalAwsOperations.GetObject + ":body", Times = 1 });
                return false;
            case FaultKind.Delay:
                await Task.Delay(fault.DelayMilliseconds, context.RequestAborted);
                return false;
            case FaultKind.SignatureMismatch:
                var signedHeaders = string.Join('\n', context.Request.Headers
                    .Where(h => h.Key.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("host", StringComparison.OrdinalIgnoreCase))
                    .Select(h => $"{h.Key.ToLowerInvariant()}:{h.Value}"));
                var quoted = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
                    + $"The Canonical String for this request should have been\n'{context.Request.Method}\n{context.Request.Path}\n\n{signedHeaders}\n'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n";
                await (protocol switch
                {
                    Protocol.S3 => S3ErrorAsync(context, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
                    Protocol.Sts => StsErrorAsync(context, 403, "SignatureDoesNotMatch", quoted),
                    _ => JsonErrorAsync(context, 400, "InvalidSignatureException", quoted),
                });
                return true;
            case FaultKind.InternalError:
                await (protocol switch
                {
                    Protocol.S3 => S3ErrorAsync(context, 500, "InternalError", "We encountered an internal error. Please try again."),
                    Protocol.Sts => StsErrorAsync(context, 500, "InternalFailure", "An internal error occurred."),
                    _ => JsonErrorAsync(context, 500, "InternalServiceException", "An internal error occurred."),
                });
                return true;
            default:
                await (protocol switch
                {
                    Protocol.S3 => S3ErrorAsync(context, 503, "SlowDown", "Please reduce your request rate."),
                    Protocol.Sts => StsErrorAsync(context, 400, "Throttling", "Rate exceeded"),
                    _ => JsonErrorAsync(context, 400, "ThrottledException", "Rate exceeded"),
                });
                return true;
        }
    }

    private static (string Bucket, string? Key, Dictionary<string, string> Query) ParseS3Target(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = (queryStart >= 0 ? rawTarget[..queryStart] : rawTarget).TrimStart('/');
        var slash = rawPath.IndexOf('/', StringComparison.Ordinal);
        var bucket = Uri.UnescapeDataString(slash >= 0 ? rawPath[..slash] : rawPath);
        var key = slash >= 0 ? Uri.UnescapeDataString(rawPath[(slash + 1)..]) : null;
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (queryStart >= 0)
        {
            foreach (var pair in QueryHelpers.ParseQuery(rawTarget[queryStart..]))
            {
                query[pair.Key] = pair.Value.ToString();
            }
        }

        return (bucket, key, query);
    }

    private static bool TryParseRange(string header, long size, out long start, out long end)
    {
        start = 0;
        end = size - 1;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }

        var spec = header["bytes=".Length..];
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }

        var first = spec[..dash];
        var last = spec[(dash + 1)..];
        if (first.Length == 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix) || suffix == 0)
            {
                return false;
            }

            start = Math.Max(0, size - suffix);
            return size > 0;
        }

        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out start) || start >= size)
        {
            return false;
        }

        if (last.Length > 0)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
            {
                return false;
            }

            end = Math.Min(end, size - 1);
        }

        return true;
    }

    private static string HashedPayload(HttpRequest request, byte[] body)
    {
        var header = request.Headers["x-amz-content-sha256"].ToString();
        var computed = Convert.ToHexStringLower(SHA256.HashData(body));
        // A declared hash that differs from the body makes the signature check fail, as on AWS.
        return header.Length == 64 && !string.Equals(header, computed, StringComparison.OrdinalIgnoreCase) ? header + "-mismatch" : computed;
    }

    private static async Task<byte[]> ReadSmallBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxSmallBody)
            {
                throw new BadHttpRequestException("Request body too large", 413);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static bool FixedTimeEquals(string expected, string? actual) =>
        actual is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));

    private static string NewRequestId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    private async Task S3ErrorAsync(HttpContext context, int status, string code, string message, params (string Name, string Value)[] extra)
    {
        state.Counters.CountError(code);
        LogError(logger, "s3", status, code);
        var requestId = NewRequestId();
        context.Response.Headers["x-amz-request-id"] = requestId;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = status;
            return;
        }

        var xml = new XElement("Error",
            new XElement("Code", code),
            new XElement("Message", message),
            extra.Select(e => new XElement(e.Name, e.Value)),
            new XElement("RequestId", requestId),
            new XElement("HostId", "localaws"));
        await WriteXmlAsync(context, status, xml);
    }

    private async Task StsErrorAsync(HttpContext context, int status, string code, string message)
    {
        state.Counters.CountError(code);
        LogError(logger, "sts", status, code);
        var xml = new XElement(StsNamespace + "ErrorResponse",
            new XElement(StsNamespace + "Error",
                new XElement(StsNamespace + "Type", status >= 500 ? "Receiver" : "Sender"),
                new XElement(StsNamespace + "Code", code),
                new XElement(StsNamespace + "Message", message)),
            new XElement(StsNamespace + "RequestId", Guid.NewGuid().ToString()));
        await WriteXmlAsync(context, status, xml);
    }

    private async Task JsonErrorAsync(HttpContext context, int status, string code, string message)
    {
        state.Counters.CountError(code);
        LogError(logger, "tagging", status, code);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.1";
        context.Response.Headers["x-amzn-RequestId"] = NewRequestId();
        context.Response.Headers["x-amzn-ErrorType"] = code;
        await JsonSerializer.SerializeAsync(context.Response.Body, new JsonError(code, message), cancellationToken: context.RequestAborted);
    }

    private static async Task WriteXmlAsync(HttpContext context, int status, XElement xml)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        var bytes = Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + xml.ToString(SaveOptions.DisableFormatting));
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    [GeneratedRegex(@"^[\w+=,.@-]{2,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SessionNamePattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "AssumeRole granted for {RoleArn} (session {SessionName})")]
    private static partial void LogAssumeRoleGranted(ILogger logger, string roleArn, string sessionName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "AssumeRole refused for {RoleArn}: unknown role, wrong external id or caller")]
    private static partial void LogAssumeRoleRefused(ILogger logger, string roleArn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Policy denies {Action} on {Resource}")]
    private static partial void LogPolicyDenied(ILogger logger, string action, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Injecting fault {Kind} into {Operation}")]
    private static partial void LogFaultInjected(ILogger logger, FaultKind kind, string operation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection reset after {Bytes} body bytes (injected)")]
    private static partial void LogConnectionReset(ILogger logger, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Service} error {Status} {Code}")]
    private static partial void LogError(ILogger logger, string service, int status, string code);

    private sealed record GetResourcesRequest
    {
        public string? PaginationToken { get; init; }

        public List<TagFilter>? TagFilters { get; init; }

        public int? ResourcesPerPage { get; init; }
    }

    private sealed record TagFilter(string? Key, List<string>? Values);

    private sealed record GetResourcesResponse(string PaginationToken, List<ResourceTagMapping> ResourceTagMappingList);

    private sealed record ResourceTagMapping(string ResourceARN, List<TagPair> Tags);

    private sealed record TagPair(string Key, string Value);

    private sealed record JsonError([property: System.Text.Json.Serialization.JsonPropertyName("__type")] string Type, string Message);
}
