using System.Runtime.CompilerServices;
using Amazon.S3.Model;
using CurWorkflows.Cur.Manifest;

namespace CurWorkflows.Aws;

/// <summary>A manifest read from the bucket with the ETag it had.</summary>
public sealed record DownloadedManifest(string Key, string? ETag, CurManifest Manifest);

/// <summary>Lists a customer's CUR bucket and reads manifests, as the customer's role.</summary>
public sealed class CurBucketReader(AwsClientFactory clients)
{
    /// <summary>Every object under <paramref name="keyPrefix"/>, following continuation tokens (buckets hold well over 1,000 objects).</summary>
    public async IAsyncEnumerable<BucketObject> ListObjectsAsync(
        CustomerRole role, string bucket, string keyPrefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var s3 = clients.S3(role);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = keyPrefix };
        do
        {
            ListObjectsV2Response response;
            try
            {
                response = await s3.ListObjectsV2Async(request, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw clients.MapFailure(role, ex, AwsCall.ListBucket, $"s3://{bucket}/{keyPrefix}");
            }

            foreach (var item in response.S3Objects ?? [])
            {
                yield return new BucketObject(item.Key, item.ETag, item.Size ?? 0, item.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : null);
            }

            request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    /// <summary>Each billing period's manifest of the report, oldest first (empty when the report has not been delivered yet).</summary>
    /// <param name="eTags">When given, receives the ETag of every object listed under the report's root, by key.</param>
    public async Task<IReadOnlyList<PeriodManifestLocation>> FindPeriodManifestsAsync(
        CustomerRole role, ReportLocation location, IDictionary<string, string>? eTags = null, CancellationToken cancellationToken = default)
    {
        var root = CurReportLayout.ReportRoot(location.Prefix, location.ReportName);
        var listing = new List<BucketObject>();
        await foreach (var item in ListObjectsAsync(role, location.Bucket, root, cancellationToken))
        {
            listing.Add(item);
            if (eTags is not null && item.ETag is { } eTag)
            {
                eTags[item.Key] = eTag;
            }
        }

        return CurReportLayout.FindPeriodManifests(listing, location.Prefix, location.ReportName);
    }

    /// <summary>Downloads and parses a manifest; a missing one is <c>report_not_found</c>, a bad one <c>report_malformed</c>.</summary>
    public async Task<DownloadedManifest> ReadManifestAsync(
        CustomerRole role, string bucket, string manifestKey, CancellationToken cancellationToken = default)
    {
        var name = $"s3://{bucket}/{manifestKey}";
        if (LeadingSlashKeys.Applies(manifestKey))
        {
            using var raw = await LeadingSlashKeys.SendAsync(clients, role, HttpMethod.Get, bucket, manifestKey, null, null, AwsCall.GetObject, cancellationToken);
            try
            {
                await using var stream = await raw.Response.Content.ReadAsStreamAsync(cancellationToken);
                var parsed = await CurManifestParser.ParseAsync(stream, name, cancellationToken);
                return new DownloadedManifest(manifestKey, raw.ETag, parsed);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw AwsErrors.Map(ex, AwsCall.GetObject, name);
            }
        }

        try
        {
            using var response = await clients.S3(role).GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = manifestKey }, cancellationToken);
            var manifest = await CurManifestParser.ParseAsync(response.ResponseStream, name, cancellationToken);
            return new DownloadedManifest(manifestKey, response.ETag, manifest);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw clients.MapFailure(role, ex, AwsCall.GetObject, name);
        }
    }
}
