using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace CurWorkflows.LocalAws;

/// <summary>An object of the local S3: its bytes live in memory (small objects) or in a file on disk (large ones).</summary>
public sealed class StoredObject
{
    private readonly byte[]? _content;
    private readonly string? _filePath;

    internal StoredObject(string key, byte[]? content, string? filePath, long size, string eTag, DateTimeOffset lastModified)
    {
        Key = key;
        _content = content;
        _filePath = filePath;
        Size = size;
        ETag = eTag;
        LastModified = lastModified;
    }

    public string Key { get; }

    public long Size { get; }

    /// <summary>Quoted, as S3 returns it: <c>"&lt;md5 hex&gt;"</c>.</summary>
    public string ETag { get; }

    public DateTimeOffset LastModified { get; }

    /// <summary>The <c>x-amz-server-side-encryption</c> S3 reports (null: the bucket's default AES256, not reported here).
    /// With <c>aws:kms</c> the ETag is not the content's MD5, as on S3.</summary>
    public string? ServerSideEncryption { get; init; }

    internal Stream OpenRead() =>
        _content is not null
            ? new MemoryStream(_content, writable: false)
            : new FileStream(_filePath!, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
}

internal sealed class LocalBucket(string name)
{
    public string Name { get; } = name;

    public object Sync { get; } = new();

    public SortedDictionary<string, StoredObject> Objects { get; } = new(StringComparer.Ordinal);
}

/// <summary>The buckets and objects of the local S3.</summary>
public sealed class ObjectStore
{
    private readonly ConcurrentDictionary<string, LocalBucket> _buckets = new(StringComparer.Ordinal);

    public void CreateBucket(string bucket) => _buckets.GetOrAdd(bucket, name => new LocalBucket(name));

    public bool BucketExists(string bucket) => _buckets.ContainsKey(bucket);

    public void DeleteBucket(string bucket) => _buckets.TryRemove(bucket, out _);

    public StoredObject PutObject(string bucket, string key, byte[] content)
    {
        var stored = new StoredObject(key, content, null, content.Length, QuotedMd5(MD5Hash(content)), DateTimeOffset.UtcNow);
        Add(bucket, stored);
        return stored;
    }

    /// <summary>As an object written to a bucket whose default encryption is SSE-KMS: its ETag is 32 hex digits that are
    /// not the MD5 of its content.</summary>
    public StoredObject PutKmsEncryptedObject(string bucket, string key, byte[] content)
    {
        var stored = new StoredObject(key, content, null, content.Length, $"\"{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}\"", DateTimeOffset.UtcNow)
        {
            ServerSideEncryption = "aws:kms",
        };
        Add(bucket, stored);
        return stored;
    }

    /// <summary>
    /// Serves the object from <paramref name="filePath"/> without copying it into memory. The file must stay
    /// unchanged while the server serves it. The ETag is the file's MD5 unless one is given.
    /// </summary>
    public async Task<StoredObject> PutObjectFromFileAsync(
        string bucket, string key, string filePath, string? eTag = null, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(filePath);
        if (eTag is null)
        {
            await using var stream = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            eTag = QuotedMd5(await MD5HashAsync(stream, cancellationToken));
        }

        var stored = new StoredObject(key, null, info.FullName, info.Length, eTag, DateTimeOffset.UtcNow);
        Add(bucket, stored);
        return stored;
    }

    public bool DeleteObject(string bucket, string key)
    {
        var target = GetBucket(bucket);
        lock (target.Sync)
        {
            return target.Objects.Remove(key);
        }
    }

    public StoredObject? GetObject(string bucket, string key)
    {
        if (!_buckets.TryGetValue(bucket, out var target))
        {
            return null;
        }

        lock (target.Sync)
        {
            return target.Objects.GetValueOrDefault(key);
        }
    }

    internal LocalBucket? FindBucket(string bucket) => _buckets.GetValueOrDefault(bucket);

    internal void Add(string bucket, StoredObject stored)
    {
        var target = GetBucket(bucket);
        lock (target.Sync)
        {
            target.Objects[stored.Key] = stored;
        }
    }

    private LocalBucket GetBucket(string bucket) =>
        _buckets.TryGetValue(bucket, out var target)
            ? target
            : throw new InvalidOperationException($"Bucket '{bucket}' does not exist; call CreateBucket first.");

    internal static string QuotedMd5(byte[] hash) => "\"" + Convert.ToHexStringLower(hash) + "\"";

#pragma warning disable CA5351 // S3 ETags of single-part objects are MD5 digests by definition; not used for security.
    internal static byte[] MD5Hash(byte[] content) => MD5.HashData(content);

    internal static async Task<byte[]> MD5HashAsync(Stream stream, CancellationToken cancellationToken) =>
        await MD5.HashDataAsync(stream, cancellationToken);

    internal static IncrementalHash CreateMD5() => IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
}
