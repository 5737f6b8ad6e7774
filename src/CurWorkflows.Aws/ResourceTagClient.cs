using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Amazon.Runtime.Signing;
using CurWorkflows.Cur;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CurWorkflows.Aws;

/// <summary>
/// Resource Groups Tagging API <c>GetResources</c> as the customer's role: resource ARN to the value of one tag.
/// The API's NuGet package is not available here, so the JSON 1.1 request is built and SigV4-signed by hand
/// with the signer of AWSSDK.Core.
/// </summary>
public sealed partial class ResourceTagClient(AwsClientFactory clients, HttpClient httpClient, ILogger<ResourceTagClient>? logger = null)
{
    private const string Target = "ResourceGroupsTaggingAPI_20170126.GetResources";
    private const int MaxAttempts = 5;
    private const int MaxWalks = 3;
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    /// <summary>
    /// ARN to tag value of every resource carrying <paramref name="tagKey"/>. Accepts the CUR column form
    /// (<c>user:md-package</c>) or the tag key itself (<c>md-package</c>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> GetTagValuesAsync(
        CustomerRole role, string tagKey, CancellationToken cancellationToken = default)
    {
        var key = tagKey.StartsWith("user:", StringComparison.Ordinal) ? tagKey["user:".Length..] : tagKey;
        // One walk per region, at once: GetResources answers for the resources of the region it is called in. When one
        // walk fails for good, the others stop.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lookup = new TagLookup(role, key, stop);
        var walks = clients.Options.EffectiveTaggingRegions.Select(region => LookUpRegionOrStopAsync(lookup, region)).ToList();
        var regions = await Task.WhenAll(walks);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var region in regions)
        {
            foreach (var (arn, value) in region)
            {
                values[arn] = value;
            }
        }

        LogTagLookupDone(_logger, key, values.Count, walks.Count);
        return values;
    }

    /// <summary>
    /// One region's walk. A region other than the service's own (<c>Aws:Region</c>) that refuses the role (an
    /// organization's policy denying regions, a region the account has not enabled) holds nothing for this lookup; the
    /// role's own missing permission shows in the service's region, which every account has.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>> LookUpRegionOrStopAsync(TagLookup lookup, string region)
    {
        var stop = lookup.Stop;
        try
        {
            return await LookUpRegionAsync(lookup, region);
        }
        catch (RegionRefusedException e) when (region != clients.Options.Region)
        {
            LogRegionRefused(_logger, region, e.Message);
            return new Dictionary<string, string>();
        }
        catch (RegionRefusedException e) when (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
            throw new CurException(CurErrorCodes.AccessDenied, e.Message, e);
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
            throw;
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> LookUpRegionAsync(TagLookup lookup, string region)
    {
        var endpoint = new Uri(string.IsNullOrWhiteSpace(clients.Options.TaggingServiceUrl)
            ? $"https://tagging.{region}.amazonaws.com/"
            : clients.Options.TaggingServiceUrl);
        for (var walk = 1; ; walk++)
        {
            try
            {
                return await WalkAsync(lookup, region, endpoint);
            }
            catch (PaginationTokenExpiredException ex) when (walk < MaxWalks)
            {
                // A token lives 15 minutes; a walk slowed down that much by throttling starts over.
                LogWalkRestarted(_logger, walk, ex.Message);
            }
            catch (PaginationTokenExpiredException ex)
            {
                throw new CurException(CurErrorCodes.Transient, ex.Message, ex);
            }
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> WalkAsync(TagLookup lookup, string region, Uri endpoint)
    {
        var key = lookup.Key;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? token = null;
        var pages = 0;
        do
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new GetResourcesInput([new TagFilterInput(key)], 100, token));
            var page = await SendWithRetriesAsync(lookup, region, endpoint, body);
            pages++;
            foreach (var mapping in page.ResourceTagMappingList ?? [])
            {
                var tag = mapping.Tags?.FirstOrDefault(t => t.Key == key);
                if (mapping.ResourceARN is not null && tag?.Value is not null)
                {
                    values[mapping.ResourceARN] = tag.Value;
                }
            }

            token = string.IsNullOrEmpty(page.PaginationToken) ? null : page.PaginationToken;
        }
        while (token is not null);

        LogTagLookup(_logger, key, region, values.Count, pages);
        return values;
    }

    private async Task<GetResourcesOutput> SendWithRetriesAsync(TagLookup lookup, string region, Uri endpoint, byte[] body)
    {
        var (role, cancellationToken) = (lookup.Role, lookup.Stop.Token);
        var retriedWithFreshSession = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SendAsync(role, region, endpoint, body, cancellationToken);
            }
            catch (PaginationTokenExpiredException)
            {
                throw;
            }
            catch (RegionRefusedException ex) when (ex.SessionUnknown && !retriedWithFreshSession && !cancellationToken.IsCancellationRequested)
            {
                // A cached session AWS no longer knows gets the answer of an opt-in region not enabled: once more with
                // the role assumed again, before the region counts as refusing. The regions' walks run at once: one of
                // them drops the session, under the lock, so the others retry with the new one and none assumes again.
                retriedWithFreshSession = true;
                lock (lookup)
                {
                    if (!lookup.SessionRenewed)
                    {
                        lookup.SessionRenewed = true;
                        LogSessionUnknown(_logger, region);
                        clients.InvalidateCredentials(role);
                    }
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && attempt < MaxAttempts
                                       && AwsErrors.Map(ex, AwsCall.GetResources, "GetResources").Code == CurErrorCodes.Transient)
            {
                LogRetry(_logger, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw AwsErrors.Map(ex, AwsCall.GetResources, "GetResources");
            }
        }
    }

    private async Task<GetResourcesOutput> SendAsync(CustomerRole role, string region, Uri endpoint, byte[] body, CancellationToken cancellationToken)
    {
        var signingRequest = new AWSSigningRequest
        {
            HttpMethod = HttpMethod.Post,
            RequestUri = endpoint,
            Content = body,
        };
        signingRequest.Headers["X-Amz-Target"] = Target;
        signingRequest.Headers["Content-Type"] = "application/x-amz-json-1.1";
        var signed = await AWSSigV4Signer.SignAsync(signingRequest, new AWSSigV4Parameters
        {
            Credentials = clients.Credentials(role),
            Region = Amazon.RegionEndpoint.GetBySystemName(region),
            Service = "tagging",
            SignPayload = true,
        }, cancellationToken);

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body) };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", Target);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
        foreach (var (name, value) in (IEnumerable<KeyValuePair<string, string>>)signed.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("X-Amz-Target", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                // Set above, or derived by HttpClient from the URI and the content with the values that were signed.
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await httpClient.SendAsync(request, cancellationToken);
        var payload = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return JsonSerializer.Deserialize<GetResourcesOutput>(payload)
                   ?? throw new CurException(CurErrorCodes.Transient, "GetResources returned an empty body");
        }

        var error = TryReadError(payload);
        var type = error?.Type ?? (response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.FirstOrDefault() : null);
        type = type?.Split(':')[0].Split('#')[^1];
        var message = $"GetResources failed ({(int)response.StatusCode} {type}): {AwsErrors.SafeMessage(error?.Message)}";
        var refused = message + " (the role needs tag:GetResources on *)";
        if (type == "ExpiredTokenException")
        {
            // The cache thought the session valid (clock skew, a revoked session): the retry assumes the role again.
            clients.InvalidateCredentials(role);
        }

        throw type switch
        {
            "PaginationTokenExpiredException" => new PaginationTokenExpiredException(message),
            // The two answers of a region that refuses the role: a policy denying it, an opt-in region not enabled.
            "AccessDeniedException" or "UnrecognizedClientException" => new RegionRefusedException(refused, type == "UnrecognizedClientException"),
            // ThrottledException is the tagging API's own throttling error; ThrottlingException is AWS's common one.
            "ThrottledException" or "ThrottlingException" or "InternalServiceException" or "ExpiredTokenException" => new CurException(CurErrorCodes.Transient, message),
            _ when (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout
                => new CurException(CurErrorCodes.Transient, message),
            _ => new CurException(CurErrorCodes.AccessDenied, refused),
        };
    }

    private static ErrorOutput? TryReadError(byte[] payload)
    {
        try
        {
            return payload.Length == 0 ? null : JsonSerializer.Deserialize<ErrorOutput>(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tag lookup for key {TagKey} in {Region}: {Resources} resources in {Pages} pages")]
    private static partial void LogTagLookup(ILogger logger, string tagKey, string region, int resources, int pages);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tag lookup for key {TagKey}: {Resources} resources in {Regions} regions")]
    private static partial void LogTagLookupDone(ILogger logger, string tagKey, int resources, int regions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tag lookup skips region {Region}, which refused the role: {Reason}")]
    private static partial void LogRegionRefused(ILogger logger, string region, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tag lookup in {Region}: the session was not recognized; asking once more with the role assumed again")]
    private static partial void LogSessionUnknown(ILogger logger, string region);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tag lookup {Walk} restarts from the first page: {Reason}")]
    private static partial void LogWalkRestarted(ILogger logger, int walk, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GetResources attempt {Attempt} failed, retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, string reason);

    private sealed record GetResourcesInput(
        [property: JsonPropertyName("TagFilters")] List<TagFilterInput> TagFilters,
        [property: JsonPropertyName("ResourcesPerPage")] int ResourcesPerPage,
        [property: JsonPropertyName("PaginationToken"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PaginationToken);

    private sealed record TagFilterInput([property: JsonPropertyName("Key")] string Key);

    private sealed record GetResourcesOutput(
        [property: JsonPropertyName("PaginationToken")] string? PaginationToken,
        [property: JsonPropertyName("ResourceTagMappingList")] List<ResourceTagMappingOutput>? ResourceTagMappingList);

    private sealed record ResourceTagMappingOutput(
        [property: JsonPropertyName("ResourceARN")] string? ResourceARN,
        [property: JsonPropertyName("Tags")] List<TagOutput>? Tags);

    private sealed record TagOutput([property: JsonPropertyName("Key")] string? Key, [property: JsonPropertyName("Value")] string? Value);

    private sealed record ErrorOutput(
        [property: JsonPropertyName("__type")] string? Type,
        [property: JsonPropertyName("message")] string? LowerMessage,
        [property: JsonPropertyName("Message")] string? UpperMessage)
    {
        [JsonIgnore]
        public string? Message => UpperMessage ?? LowerMessage;
    }
}

/// <summary>The tagging API no longer accepts the walk's pagination token (valid for 15 minutes).</summary>
internal sealed class PaginationTokenExpiredException(string message) : Exception(message);

/// <summary>One tag lookup's walks over the regions: what they share.</summary>
internal sealed class TagLookup(CustomerRole role, string key, CancellationTokenSource stop)
{
    public CustomerRole Role { get; } = role;

    public string Key { get; } = key;

    /// <summary>Cancelled when one walk fails for good.</summary>
    public CancellationTokenSource Stop { get; } = stop;

    /// <summary>Set (under a lock on this lookup) once a walk has dropped the cached session: at most once per lookup.</summary>
    public bool SessionRenewed { get; set; }
}

/// <summary>A region refused the role (<c>AccessDeniedException</c>, <c>UnrecognizedClientException</c>).</summary>
/// <param name="SessionUnknown">The region did not know the session (<c>UnrecognizedClientException</c>): an opt-in
/// region not enabled, or a session AWS no longer takes anywhere.</param>
internal sealed class RegionRefusedException(string message, bool sessionUnknown) : CurException(CurErrorCodes.AccessDenied, message)
{
    public bool SessionUnknown { get; } = sessionUnknown;
}
