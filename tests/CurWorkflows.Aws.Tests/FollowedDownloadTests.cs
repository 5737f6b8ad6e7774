using System.Security.Cryptography;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;

namespace CurWorkflows.Aws.Tests;

/// <summary>A spool file read while it is downloaded, and downloads of one file shared by everyone who asks for it.</summary>
public sealed class FollowedDownloadTests(LocalAwsFixture aws) : IClassFixture<LocalAwsFixture>, IDisposable
{
    private const string Bucket = "massdriver-costs-fl000001";
    private readonly string _spool = Directory.CreateTempSubdirectory("curworkflows-follow-").FullName;

    public void Dispose() => Directory.Delete(_spool, recursive: true);

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }

    /// <summary>An object served range by range at a limited rate, so that a download of it takes a while.</summary>
    private (byte[] Content, AwsClientFactory Factory) SlowObject(string key, int megabytes, int bytesPerSecond)
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(megabytes * 1024 * 1024 + 5);
        aws.Server.Objects.PutObject(Bucket, key, content);
        aws.Server.Faults.Clear();
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 100, BytesPerSecond: bytesPerSecond));
        aws.Server.Counters.Reset();
        var factory = aws.CreateFactory(o =>
        {
            o.DownloadRangeBytes = 1024 * 1024;
            o.DownloadParallelRanges = 1;
        });
        return (content, factory);
    }

    [Fact]
    public async Task A_file_is_read_while_it_arrives_byte_identical_and_a_second_caller_joins_the_same_transfer()
    {
        var (content, factory) = SlowObject("follow/report.csv.zip", 6, 4 * 1024 * 1024);
        using var _ = factory;
        var destination = Path.Combine(_spool, "report.csv.zip");
        var downloader = new ResumableDownloader(factory);
        var role = LocalAwsFixture.Role("follow");

        using var followed = downloader.Follow(role, Bucket, "follow/report.csv.zip", destination);
        var read = new MemoryStream();
        long readBeforeTheEnd = 0;
        Task<DownloadResult>? joined = null;
        await using (var stream = followed.OpenRead())
        {
            Assert.Equal(content.Length, stream.Length);
            var buffer = new byte[256 * 1024];
            int count;
            while ((count = await Task.Run(() => stream.Read(buffer, 0, buffer.Length))) > 0)
            {
                read.Write(buffer, 0, count);
                if (!followed.Completion.IsCompleted)
                {
                    readBeforeTheEnd = read.Length;
                }

                // The download activity asks for the same file while it is on its way.
                joined ??= downloader.DownloadAsync(role, Bucket, "follow/report.csv.zip", destination);
            }
        }

        var result = await followed.Completion;
        var second = await joined!;

        Assert.Equal(content, read.ToArray());
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        Assert.True(readBeforeTheEnd >= 3 * 1024 * 1024, $"only {readBeforeTheEnd} bytes were read before the download ended");
        Assert.Equal(content.Length, result.BytesTransferred);
        Assert.Equal(0, second.BytesTransferred);
        Assert.True(second.Joined);
        Assert.False(result.Joined);
        Assert.Equal(content.Length, aws.Server.Counters.ObjectBytesServed);
    }

    [Fact]
    public async Task When_the_download_fails_the_read_stops_and_the_completion_carries_the_downloads_error()
    {
        var (_, factory) = SlowObject("follow/deleted.csv.zip", 4, 4 * 1024 * 1024);
        using var _ = factory;
        var deleted = false;
        var progress = new SyncProgress(p =>
        {
            if (!deleted && p.BytesOnDisk >= 1024 * 1024)
            {
                deleted = true;
                aws.Server.Objects.DeleteObject(Bucket, "follow/deleted.csv.zip");
            }
        });

        using var followed = new ResumableDownloader(factory).Follow(
            LocalAwsFixture.Role("follow-deleted"), Bucket, "follow/deleted.csv.zip", Path.Combine(_spool, "deleted.csv.zip"), progress);
        await using var stream = followed.OpenRead();
        var buffer = new byte[64 * 1024];
        long read = 0;
        var error = await Assert.ThrowsAsync<IOException>(() => Task.Run(() =>
        {
            int count;
            while ((count = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                read += count;
            }
        }));

        Assert.InRange(read, 1024 * 1024, stream.Length - 1);
        Assert.Contains("stopped at byte", error.Message, StringComparison.Ordinal);
        Assert.True(followed.Failed);
        var failure = await Assert.ThrowsAsync<CurException>(() => followed.Completion);
        Assert.Equal(CurErrorCodes.ReportNotFound, failure.Code);
    }

    [Fact]
    public async Task The_transfer_goes_on_while_anyone_waits_for_it_and_stops_when_the_last_caller_has_gone()
    {
        var (content, factory) = SlowObject("follow/shared.csv", 4, 2 * 1024 * 1024);
        using var _ = factory;
        var downloader = new ResumableDownloader(factory);
        var role = LocalAwsFixture.Role("follow-shared");
        var destination = Path.Combine(_spool, "shared.csv");

        // A reader gives up after the first bytes; the other caller still gets the whole file, from one transfer.
        var follower = downloader.Follow(role, Bucket, "follow/shared.csv", destination);
        using var waiting = new CancellationTokenSource();
        var download = downloader.DownloadAsync(role, Bucket, "follow/shared.csv", destination, cancellationToken: waiting.Token);
        await using (var stream = follower.OpenRead())
        {
            stream.ReadExactly(new byte[1024]);
        }

        follower.Dispose();
        var result = await download;
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        Assert.Equal(0, result.BytesTransferred);
        Assert.True(result.Joined);
        Assert.Equal(content.Length, aws.Server.Counters.ObjectBytesServed);

        // Alone, a caller that goes stops the transfer: the rest of the object is never fetched.
        aws.Server.Counters.Reset();
        var lonely = Path.Combine(_spool, "lonely.csv");
        var alone = downloader.Follow(role, Bucket, "follow/shared.csv", lonely);
        await using (var stream = alone.OpenRead())
        {
            stream.ReadExactly(new byte[1024]);
        }

        alone.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => alone.Completion);
        await Task.Delay(500);
        Assert.InRange(aws.Server.Counters.ObjectBytesServed, 1024, content.Length / 2);
        Assert.False(File.Exists(lonely));
        Assert.True(File.Exists(lonely + ".part"));

        // Asked for again, the file comes from a new transfer that resumes the part the stopped one left.
        var again = await downloader.DownloadAsync(role, Bucket, "follow/shared.csv", lonely);
        Assert.Equal(content, await File.ReadAllBytesAsync(lonely));
        Assert.True(again.ResumedFromBytes > 0);
        Assert.False(again.Joined);
        Assert.InRange(aws.Server.Counters.ObjectBytesServed, content.Length, content.Length + (1024 * 1024));
    }
}
