using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3.Model;
using CurWorkflows.Cur;
using CurWorkflows.Cur.Reading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CurWorkflows.Aws;

/// <summary>The outcome of a download: where the file is and how many bytes this call moved.</summary>
/// <param name="Joined">This call joined a transfer that another caller in the process had started (which counts the
/// bytes it moved).</param>
public sealed record DownloadResult(
    string Path, long Size, string ETag, long BytesTransferred, long ResumedFromBytes, int Requests, bool AlreadyComplete, bool Joined = false);

/// <summary>Progress of a download, for heartbeats.</summary>
public readonly record struct DownloadProgress(long BytesOnDisk, long Size);

/// <summary>
/// Downloads an S3 object to a spool file with ranged GETs, resuming from the bytes already on disk: after a
/// dropped connection within a call, and after a process restart (a <c>.part</c> file plus a small
/// <c>.part.json</c> sidecar with the ETag and size). Each GET carries If-Match on the ETag, so a file that AWS
/// replaces mid-download is never stitched together from two deliveries.
/// </summary>
public sealed partial class ResumableDownloader(AwsClientFactory clients, ILogger<ResumableDownloader>? logger = null)
{
    private const int BufferSize = 1 << 20;
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    /// <summary>
    /// Downloads the object to <paramref name="destinationPath"/>, or joins the download of it that is already running in
    /// this process (one transfer per spool file, whoever asks). The bytes moved are counted in the result of the call
    /// that started the transfer; a call that joined it gets 0.
    /// </summary>
    public Task<DownloadResult> DownloadAsync(
        CustomerRole role, string bucket, string key, string destinationPath,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Join(role, bucket, key, destinationPath, progress).WaitAsync(cancellationToken);

    /// <summary>
    /// The object's size and ETag. An error answer to a HEAD has no body, so an expired or unknown session (400, 403)
    /// cannot be told from a refusal: a refused HEAD is sent once more, with the role assumed again.
    /// </summary>
    private async Task<(long Size, string ETag, bool ETagIsNotMd5)> HeadAsync(
        CustomerRole role, string bucket, string key, string name, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (LeadingSlashKeys.Applies(key))
                {
                    using var raw = await LeadingSlashKeys.SendAsync(clients, role, HttpMethod.Head, bucket, key, null, null, AwsCall.GetObject, cancellationToken);
                    return (raw.ContentLength, raw.ETag, raw.ETagIsNotContentMd5);
                }

                var head = await clients.S3(role).GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken);
                return (head.ContentLength, head.ETag,
                    ObjectETags.IsNotContentMd5(head.ServerSideEncryptionMethod?.Value, head.ServerSideEncryptionCustomerMethod?.Value));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var mapped = clients.MapFailure(role, ex, AwsCall.GetObject, name);
                if (attempt > 1 || mapped.Code != CurErrorCodes.AccessDenied)
                {
                    throw mapped;
                }

                LogHeadRefused(_logger, name);
                clients.InvalidateCredentials(role);
            }
        }
    }

    private async Task<DownloadResult> TransferAsync(
        CustomerRole role, string bucket, string key, string destinationPath, SharedDownload shared, CancellationToken cancellationToken)
    {
        var name = $"s3://{bucket}/{key}";
        var partPath = PartPathOf(destinationPath);
        var sidecarPath = destinationPath + ".part.json";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destinationPath))!);

        var (size, eTag, eTagIsNotMd5) = await HeadAsync(role, bucket, key, name, cancellationToken);

        var state = new SpoolState(bucket, key, eTag, size, HostBoot.Id);
        var expectedMd5 = eTagIsNotMd5 ? null : ContentMd5Of(eTag);
        var completeSidecarPath = destinationPath + ".json";

        if (File.Exists(destinationPath) && new FileInfo(destinationPath).Length == size && ReadSidecar(completeSidecarPath) is { } complete && complete.SameObject(state))
        {
            if (complete.WrittenInThisBoot)
            {
                return new DownloadResult(destinationPath, size, eTag, 0, size, 1, AlreadyComplete: true);
            }

            // Written before the host last went down: bytes the kernel had not written back may be lost. Only the
            // content MD5 can vouch for the file; without one (a multipart ETag) it is fetched again.
            if (expectedMd5 is not null && await HasContentMd5Async(destinationPath, size, expectedMd5, cancellationToken))
            {
                await File.WriteAllTextAsync(completeSidecarPath, JsonSerializer.Serialize(state), cancellationToken);
                LogCheckedAfterRestart(_logger, name, size);
                return new DownloadResult(destinationPath, size, eTag, 0, size, 1, AlreadyComplete: true);
            }

            LogDiscardedAfterRestart(_logger, name, destinationPath, expectedMd5 is null ? "it has no content MD5 to check it against" : "its content no longer matches the ETag's MD5");
            DiscardSpool(destinationPath);
        }

        long onDisk = 0;
        var partState = File.Exists(partPath) ? ReadSidecar(sidecarPath) : null;
        if (partState is not null && partState.SameObject(state) && partState.WrittenInThisBoot)
        {
            onDisk = Math.Min(new FileInfo(partPath).Length, size);
        }
        else
        {
            if (partState is not null && partState.SameObject(state))
            {
                LogDiscardedAfterRestart(_logger, name, partPath, "the part was written before the host restarted");
            }

            File.Delete(partPath);
            await File.WriteAllTextAsync(sidecarPath, JsonSerializer.Serialize(state), cancellationToken);
        }

        EnsureFreeSpace(destinationPath, size - onDisk, name);
        var resumedFrom = onDisk;
        long transferred = 0;
        var requests = 1;
        var failuresWithoutProgress = 0;
        if (onDisk > 0)
        {
            LogResuming(_logger, name, onDisk, size);
        }

        // The content MD5 is computed as the bytes arrive (and over what an earlier attempt left on disk), instead of
        // reading the whole file again once it is complete; not for a file its own format checks (see
        // ContentCheckedByFormat).
        var streamedMd5 = ContentCheckedByFormat(key) ? null : expectedMd5;
        using var contentHash = await StartContentHashAsync(streamedMd5, partPath, onDisk, cancellationToken);
        var rangeBytes = clients.Options.DownloadRangeBytes;
        using var prefetching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var prefetches = new Dictionary<long, Task<PrefetchedRange>>();
        await using (var file = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, BufferSize, FileOptions.Asynchronous))
        {
            file.SetLength(onDisk);
            file.Seek(onDisk, SeekOrigin.Begin);
            shared.Opened(new ArrivingFile(partPath, size, eTag));
            var buffer = new byte[BufferSize];

            // Every byte reaches the file in order, whether streamed or prefetched: written, hashed, counted, reported.
            async Task AppendAsync(byte[] data, int count)
            {
                await file.WriteAsync(data.AsMemory(0, count), cancellationToken);
                contentHash?.AppendData(data, 0, count);
                onDisk += count;
                transferred += count;
                shared.Report(new DownloadProgress(onDisk, size));
            }

            try
            {
                while (onDisk < size)
                {
                    // Ranges lie on a grid of DownloadRangeBytes. The one holding onDisk is streamed to disk as it arrives;
                    // the next DownloadParallelRanges - 1 are fetched into memory meanwhile (one S3 connection carries far
                    // less than a host can take), and written in order when their turn comes. Ranges are bounded because
                    // the HTTP stack drains an abandoned response (a cancellation) to its end: a range to the end of a
                    // multi-GB file would be transferred again for nothing.
                    var cell = onDisk / rangeBytes;
                    var end = Math.Min(size, (cell + 1) * rangeBytes) - 1;
                    for (var ahead = cell + 1; ahead < cell + clients.Options.DownloadParallelRanges && ahead * rangeBytes < size; ahead++)
                    {
                        if (!prefetches.ContainsKey(ahead))
                        {
                            var from = ahead * rangeBytes;
                            var to = Math.Min(size, from + rangeBytes) - 1;
                            // Pooled: range buffers live on the large object heap, and every download needs the same few.
                            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)rangeBytes);
                            requests++;
                            prefetches[ahead] = PrefetchAsync(role, bucket, key, eTag, from, to, rented, name, prefetching.Token);
                        }
                    }

                    if (prefetches.Remove(cell, out var prefetch))
                    {
                        var fetched = await prefetch;
                        if (onDisk == cell * rangeBytes && fetched.Received > 0)
                        {
                            await AppendAsync(fetched.Buffer, fetched.Received);
                        }

                        System.Buffers.ArrayPool<byte>.Shared.Return(fetched.Buffer);
                        if (onDisk > end)
                        {
                            continue;
                        }
                    }

                    // What was not prefetched (or what a prefetch did not get) is streamed, retried from the bytes on disk.
                    var before = onDisk;
                    try
                    {
                        requests++;
                        using var opened = await OpenRangeAsync(role, bucket, key, onDisk, end, eTag, cancellationToken);
                        var body = opened.Body;
                        int read;
                        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                        {
                            await AppendAsync(buffer, read);
                        }

                        if (onDisk <= end)
                        {
                            throw new IOException($"the response ended after {onDisk - before} bytes, {end + 1 - onDisk} bytes short of the range");
                        }
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        await file.FlushAsync(CancellationToken.None);
                        var mapped = clients.MapFailure(role, ex, AwsCall.GetObject, name);
                        if (ex is Amazon.S3.AmazonS3Exception { ErrorCode: "PreconditionFailed" } || (ex is CurException && ex.Message.Contains("changed during the download", StringComparison.Ordinal)))
                        {
                            // The object was replaced by a newer delivery: start over on the next attempt.
                            await file.DisposeAsync();
                            DeleteSpool(partPath, sidecarPath);
                            throw new CurException(CurErrorCodes.Transient, $"{name} changed during the download (ETag no longer {eTag}); retrying from the start", ex);
                        }

                        failuresWithoutProgress = onDisk > before ? 0 : failuresWithoutProgress + 1;
                        if (mapped.Code != CurErrorCodes.Transient || failuresWithoutProgress >= clients.Options.DownloadMaxAttempts)
                        {
                            throw mapped;
                        }

                        LogRetrying(_logger, name, onDisk, size, mapped.Message);
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 * (1 << Math.Min(failuresWithoutProgress, 6)))), cancellationToken);
                    }
                }
            }
            finally
            {
                // Prefetches never throw; none outlives the call.
                await prefetching.CancelAsync();
                foreach (var abandoned in await Task.WhenAll(prefetches.Values))
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(abandoned.Buffer);
                }

                prefetches.Clear();
                if (cancellationToken.IsCancellationRequested)
                {
                    await file.FlushAsync(CancellationToken.None);
                }
            }

            await file.FlushAsync(cancellationToken);
            if (HostBoot.Id is null)
            {
                // No boot id to tell a later reader that the host went down in between: the bytes go to disk now.
                file.Flush(flushToDisk: true);
            }
        }

        Verify(partPath, state, streamedMd5, contentHash, sidecarPath, name);
        File.Move(partPath, destinationPath, overwrite: true);
        File.Move(sidecarPath, completeSidecarPath, overwrite: true);
        LogDownloaded(_logger, name, size, transferred, resumedFrom, requests);
        return new DownloadResult(destinationPath, size, eTag, transferred, resumedFrom, requests, AlreadyComplete: false);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a complete spool file written in this boot of the host (<see cref="HostBoot"/>),
    /// which can be read without a check. Otherwise (the host went down since, or the file is gone) call
    /// <see cref="DownloadAsync"/> again: it checks the file against the content MD5 or fetches it anew.
    /// </summary>
    public static bool IsTrustedSpoolFile(string path) =>
        File.Exists(path) && ReadSidecar(path + ".json") is { WrittenInThisBoot: true } state && new FileInfo(path).Length == state.Size;

    /// <summary>
    /// Whether the bytes of the object <paramref name="key"/> are checked by its own format as it is read: a <c>.zip</c>
    /// or <c>.gz</c> report carries the CRC-32 and length of its CSV, and the parse checks both over every inflated byte
    /// (a damaged deflate stream fails before that). The content MD5 would check the same bytes a second time as they
    /// arrive, for about 2 CPU-seconds per GB on the host that parses them. It is computed only when a parse finds the
    /// file malformed (<see cref="SpoolDiffersFromObjectAsync"/>), to tell damaged bytes on this host from a malformed
    /// report. Plain CSV has no checksum of its own: its MD5 is computed as it arrives.
    /// </summary>
    public static bool ContentCheckedByFormat(string key) => CurSource.CompressionOf(key) != CurCompression.None;

    /// <summary>
    /// Whether the complete spool file at <paramref name="path"/> differs from the object it was downloaded from, by the
    /// content MD5 of the object's ETag (reads the whole file). False when they match, and when there is nothing to compare
    /// with: no readable record of the download, or a multipart ETag, which is not a content MD5.
    /// </summary>
    public static async Task<bool> SpoolDiffersFromObjectAsync(string path, CancellationToken cancellationToken)
    {
        var expectedMd5 = ReadSidecar(path + ".json") is { } state ? ContentMd5Of(state.ETag) : null;
        if (expectedMd5 is null || !File.Exists(path))
        {
            return false;
        }

        return !await HasContentMd5Async(path, new FileInfo(path).Length, expectedMd5, cancellationToken);
    }

    /// <summary>Whether the first <paramref name="length"/> bytes of the file hash to <paramref name="expectedMd5"/>.</summary>
    private static async Task<bool> HasContentMd5Async(string path, long length, string expectedMd5, CancellationToken cancellationToken)
    {
        using var hash = await StartContentHashAsync(expectedMd5, path, length, cancellationToken);
        return string.Equals(Convert.ToHexStringLower(hash!.GetHashAndReset()), expectedMd5, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Deletes a complete spool file and its record, so that the next download of it starts over.</summary>
    public static void DiscardSpool(string path)
    {
        File.Delete(path);
        File.Delete(path + ".json");
    }

    /// <summary>Whether any downloaded bytes of <paramref name="path"/> are on disk: the complete file or its part. A
    /// transfer that discarded its bytes (a content MD5 mismatch, a replaced object) leaves neither.</summary>
    public static bool HasSpooledBytes(string path) => File.Exists(path) || File.Exists(PartPathOf(path));

    private static string PartPathOf(string destinationPath) => destinationPath + ".part";

    /// <summary>The ETag of the object a complete spool file holds, if its record is readable.</summary>
    public static string? SpooledETag(string path) => ReadSidecar(path + ".json")?.ETag;

    private async Task<OpenedRange> OpenRangeAsync(
        CustomerRole role, string bucket, string key, long from, long to, string eTag, CancellationToken cancellationToken)
    {
        if (LeadingSlashKeys.Applies(key))
        {
            var raw = await LeadingSlashKeys.SendAsync(clients, role, HttpMethod.Get, bucket, key, (from, to), eTag, AwsCall.GetObject, cancellationToken);
            return new OpenedRange(await raw.Response.Content.ReadAsStreamAsync(cancellationToken), raw);
        }

        var response = await clients.S3(role).GetObjectAsync(
            new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(from, to), EtagToMatch = eTag }, cancellationToken);
        return new OpenedRange(response.ResponseStream, response);
    }

    /// <summary>
    /// Fetches one range into <paramref name="buffer"/>. Never throws: whatever it did not get (a dropped connection, a
    /// refusal, a replaced object, a cancellation) the writing loop fetches itself when the range's turn comes, with the
    /// retries and the error handling of a streamed range.
    /// </summary>
    private async Task<PrefetchedRange> PrefetchAsync(
        CustomerRole role, string bucket, string key, string eTag, long from, long to, byte[] buffer, string name, CancellationToken cancellationToken)
    {
        var length = (int)(to - from + 1);
        var received = 0;
        try
        {
            using var opened = await OpenRangeAsync(role, bucket, key, from, to, eTag, cancellationToken);
            int read;
            while (received < length && (read = await opened.Body.ReadAsync(buffer.AsMemory(received, length - received), cancellationToken)) > 0)
            {
                received += read;
            }
        }
#pragma warning disable CA1031 // See the summary: the range is fetched again in line, where failures are handled.
        catch (Exception e)
#pragma warning restore CA1031
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                LogPrefetchFailed(_logger, name, from, received, e.Message);
            }
        }

        return new PrefetchedRange(buffer, received);
    }

    private sealed record PrefetchedRange(byte[] Buffer, int Received);

    private sealed record OpenedRange(Stream Body, IDisposable Owner) : IDisposable
    {
        public void Dispose()
        {
            Body.Dispose();
            Owner.Dispose();
        }
    }

    /// <summary>
    /// A single-part upload's ETag is the MD5 of the content; multipart ETags ("&lt;md5&gt;-&lt;parts&gt;") are not, and for
    /// those the size check plus If-Match on every range is what guarantees one consistent object. Returns null when the
    /// ETag is not a content MD5.
    /// </summary>
    private static string? ContentMd5Of(string eTag)
    {
        var plain = eTag.Trim('"');
        return plain.Length == 32 && !plain.Contains('-', StringComparison.Ordinal) ? plain : null;
    }

    /// <summary>Starts the running MD5 of the spool file, hashing its first <paramref name="onDisk"/> bytes (what a previous
    /// attempt left, or the whole of a complete file being checked again); null when the ETag is not a content MD5.</summary>
    private static async Task<IncrementalHash?> StartContentHashAsync(string? expectedMd5, string path, long onDisk, CancellationToken cancellationToken)
    {
        if (expectedMd5 is null)
        {
            return null;
        }

#pragma warning disable CA5351 // Comparing with S3's MD5 ETag; integrity, not security.
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        if (onDisk > 0)
        {
            await using var existing = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, BufferSize, FileOptions.SequentialScan | FileOptions.Asynchronous);
            var buffer = new byte[BufferSize];
            var remaining = onDisk;
            while (remaining > 0)
            {
                var read = await existing.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }

        return hash;
    }

    private static void Verify(string partPath, SpoolState state, string? expectedMd5, IncrementalHash? contentHash, string sidecarPath, string name)
    {
        var length = new FileInfo(partPath).Length;
        if (length != state.Size)
        {
            DeleteSpool(partPath, sidecarPath);
            throw new CurException(CurErrorCodes.Transient, $"{name}: downloaded {length} bytes, expected {state.Size}; the spool file was discarded");
        }

        if (expectedMd5 is not null && contentHash is not null)
        {
            var md5 = Convert.ToHexStringLower(contentHash.GetHashAndReset());
            if (!string.Equals(md5, expectedMd5, StringComparison.OrdinalIgnoreCase))
            {
                DeleteSpool(partPath, sidecarPath);
                throw new CurException(CurErrorCodes.Transient, $"{name}: content MD5 {md5} does not match ETag {state.ETag}; the spool file was discarded");
            }
        }
    }

    private void EnsureFreeSpace(string destinationPath, long bytesNeeded, string name)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(destinationPath))!;
        var available = new DriveInfo(directory).AvailableFreeSpace;
        var required = bytesNeeded + clients.Options.DownloadFreeSpaceMarginBytes;
        if (available < required)
        {
            throw new CurException(CurErrorCodes.Transient,
                $"{name}: not enough free disk in {directory} ({available} bytes free, {required} needed including a margin of {clients.Options.DownloadFreeSpaceMarginBytes})");
        }
    }

    private static SpoolState? ReadSidecar(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<SpoolState>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void DeleteSpool(string partPath, string sidecarPath)
    {
        File.Delete(partPath);
        File.Delete(sidecarPath);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "HEAD of {Object} was refused; asking once more with the role assumed again (the answer has no body to tell an expired session from a refusal)")]
    private static partial void LogHeadRefused(ILogger logger, string @object);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {Object} at byte {OnDisk} of {Size}")]
    private static partial void LogResuming(ILogger logger, string @object, long onDisk, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Download of {Object} interrupted at byte {OnDisk} of {Size}, resuming: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string @object, long onDisk, long size, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefetch of {Object} from byte {From} stopped after {Received} bytes ({Reason}); the range is fetched in line")]
    private static partial void LogPrefetchFailed(ILogger logger, string @object, long from, int received, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Spool file of {Object} was written before the host restarted; its {Size} bytes match the content MD5")]
    private static partial void LogCheckedAfterRestart(ILogger logger, string @object, long size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spool file of {Object} at {Path} discarded and fetched again: {Reason}")]
    private static partial void LogDiscardedAfterRestart(ILogger logger, string @object, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded {Object}: {Size} bytes, {Transferred} transferred by this call (resumed from {ResumedFrom}), {Requests} requests")]
    private static partial void LogDownloaded(ILogger logger, string @object, long size, long transferred, long resumedFrom, int requests);

    /// <param name="BootId">The host's boot when the bytes were written (<see cref="HostBoot"/>).</param>
    private sealed record SpoolState(string Bucket, string Key, string ETag, long Size, string? BootId = null)
    {
        [System.Text.Json.Serialization.JsonIgnore]
        public bool WrittenInThisBoot => BootId == HostBoot.Id;

        public bool SameObject(SpoolState other) => Bucket == other.Bucket && Key == other.Key && ETag == other.ETag && Size == other.Size;
    }
}

/// <summary>What an S3 object's ETag says about its content.</summary>
internal static class ObjectETags
{
    /// <summary>SSE-KMS (<c>aws:kms</c>, <c>aws:kms:dsse</c>) and SSE-C objects have ETags that are not the MD5 of their
    /// content, whatever their form.</summary>
    public static bool IsNotContentMd5(string? serverSideEncryption, string? customerKeyAlgorithm) =>
        serverSideEncryption?.StartsWith("aws:kms", StringComparison.Ordinal) == true || !string.IsNullOrEmpty(customerKeyAlgorithm);
}
