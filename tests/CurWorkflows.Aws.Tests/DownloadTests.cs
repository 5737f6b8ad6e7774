using System.Security.Cryptography;
using CurWorkflows.Cur;
using CurWorkflows.LocalAws;
using Xunit.Abstractions;

namespace CurWorkflows.Aws.Tests;

public sealed class LargeObjectFixture : LocalAwsFixture
{
    public const long Size = 300L * 1024 * 1024;

    public string SourcePath { get; } = Path.Combine(Path.GetTempPath(), $"curworkflows-aws-300mb-{Guid.NewGuid():N}.bin");

    public string SpoolDirectory { get; } = Path.Combine(Path.GetTempPath(), $"curworkflows-aws-spool-{Guid.NewGuid():N}");

    public byte[] SourceSha256 { get; private set; } = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var random = new Random(20241101);
        var buffer = new byte[1024 * 1024];
        await using (var file = new FileStream(SourcePath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        {
            for (long written = 0; written < Size; written += buffer.Length)
            {
                random.NextBytes(buffer);
                await file.WriteAsync(buffer);
            }
        }

        await using (var read = File.OpenRead(SourcePath))
        {
            SourceSha256 = await SHA256.HashDataAsync(read);
        }

        Directory.CreateDirectory(SpoolDirectory);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(SourcePath);
        Directory.Delete(SpoolDirectory, recursive: true);
    }
}

public class DownloadTests(LargeObjectFixture aws, ITestOutputHelper output) : IClassFixture<LargeObjectFixture>
{
    private const string Bucket = "massdriver-costs-dl000001";

    private sealed class CancelAt(long bytes, CancellationTokenSource cancellation) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value)
        {
            if (value.BytesOnDisk >= bytes)
            {
                cancellation.Cancel();
            }
        }
    }

    [Fact]
    public async Task DownloadAsync_300MB_SurvivesTwoResetsAndARestart_TransfersAboutOnceByteIdentical()
    {
        aws.Server.CreateBucket(Bucket);
        const string key = "massdriver/massdriver-costs/20241101-20241201/massdriver-costs-1.csv.zip";
        await aws.Server.Objects.PutObjectFromFileAsync(Bucket, key, aws.SourcePath);
        aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, AfterBytes: 3L * 1024 * 1024));
        aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, AfterBytes: 5L * 1024 * 1024));
        var servedBefore = aws.Server.Counters.ObjectBytesServed;
        var requestedBefore = aws.Server.Counters.ObjectBytesRequested;
        var getsBefore = aws.Server.Counters.Requests(LocalAwsOperations.GetObject);
        var destination = Path.Combine(aws.SpoolDirectory, "report-1.csv.zip");
        var role = LocalAwsFixture.Role("download");
        var started = System.Diagnostics.Stopwatch.StartNew();

        // First worker: two connections reset in the middle of a body (3 MiB and 5 MiB into an 8 MiB range),
        // then it is stopped at ~150 MB (a process restart).
        using (var firstFactory = aws.CreateFactory())
        {
            using var stop = new CancellationTokenSource();
            var first = new ResumableDownloader(firstFactory);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                first.DownloadAsync(role, Bucket, key, destination, new CancelAt(150L * 1024 * 1024, stop), stop.Token));
        }

        Assert.Equal(0, aws.Server.Faults.Pending);
        Assert.True(File.Exists(destination + ".part"));
        Assert.True(File.Exists(destination + ".part.json"));
        var partial = new FileInfo(destination + ".part").Length;
        Assert.InRange(partial, 150L * 1024 * 1024, LargeObjectFixture.Size - 1);

        // Second worker: a new factory and downloader resume from the bytes on disk.
        using var secondFactory = aws.CreateFactory();
        var result = await new ResumableDownloader(secondFactory).DownloadAsync(role, Bucket, key, destination);
        started.Stop();

        Assert.False(result.AlreadyComplete);
        Assert.Equal(partial, result.ResumedFromBytes);
        Assert.Equal(LargeObjectFixture.Size - partial, result.BytesTransferred);
        Assert.Equal(LargeObjectFixture.Size, new FileInfo(destination).Length);
        Assert.False(File.Exists(destination + ".part"));
        await using (var downloaded = File.OpenRead(destination))
        {
            Assert.Equal(aws.SourceSha256, await SHA256.HashDataAsync(downloaded));
        }

        var served = aws.Server.Counters.ObjectBytesServed - servedBefore;
        var requested = aws.Server.Counters.ObjectBytesRequested - requestedBefore;
        var gets = aws.Server.Counters.Requests(LocalAwsOperations.GetObject) - getsBefore;
        var ratio = (double)served / LargeObjectFixture.Size;
        output.WriteLine($"300 MiB download: {served:N0} bytes served ({ratio:F3}x), {requested:N0} bytes requested in ranges, {gets} GETs, {started.Elapsed.TotalSeconds:F1} s incl. MD5/SHA-256 checks; resumed from {partial:N0} after restart");
        // Bytes of a broken body are kept, so the resets waste nothing; the restart can waste what was in flight: the
        // ranges prefetched into memory and the one being written, at most DownloadParallelRanges ranges.
        var options = secondFactory.Options;
        Assert.InRange(served, LargeObjectFixture.Size, LargeObjectFixture.Size + (options.DownloadParallelRanges * options.DownloadRangeBytes));
        Assert.True(gets >= 4, $"expected at least 4 ranged GETs (2 resets + restart), saw {gets}");

        // A repeated call (an activity retry after success) transfers nothing.
        var again = await new ResumableDownloader(secondFactory).DownloadAsync(role, Bucket, key, destination);
        Assert.True(again.AlreadyComplete);
        Assert.Equal(0, again.BytesTransferred);
        File.Delete(destination);
        File.Delete(destination + ".json");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(1)]
    public async Task DownloadAsync_FetchesUpToDownloadParallelRangesRangesAtOnce_ByteIdentical(int parallel)
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(12 * 1024 * 1024 + 3);
        aws.Server.Objects.PutObject(Bucket, "parallel/ranges.csv.gz", content);
        // Every range comes at 8 MiB/s, as from a connection of limited bandwidth: ranges in flight together overlap.
        aws.Server.Faults.Add(new InjectedFault(FaultKind.SlowBody, LocalAwsOperations.GetObject, Times: 13, BytesPerSecond: 8 * 1024 * 1024));
        aws.Server.Counters.Reset();
        using var factory = aws.CreateFactory(o =>
        {
            o.DownloadRangeBytes = 1024 * 1024;
            o.DownloadParallelRanges = parallel;
        });
        var destination = Path.Combine(aws.SpoolDirectory, $"parallel-{parallel}.csv.gz");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("parallel"), Bucket, "parallel/ranges.csv.gz", destination);
        output.WriteLine($"12 MiB at 8 MiB/s per connection, {parallel} range(s) at once: {clock.Elapsed.TotalSeconds:F2} s");

        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        Assert.Equal(13, result.Requests - 1);
        Assert.Equal(content.Length, aws.Server.Counters.ObjectBytesServed);
        Assert.Equal(parallel, aws.Server.Counters.MaxObjectBodiesInFlight);
        aws.Server.Faults.Clear();
        File.Delete(destination);
        File.Delete(destination + ".json");
    }

    [Fact]
    public async Task DownloadAsync_FourResponsesInARowBreakOffEarly_KeepsTheBytesOfEachAndNothingIsServedTwice()
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        aws.Server.Objects.PutObject(Bucket, "short/reads.csv.gz", content);
        // Four responses in a row break off after 200 KiB: more failures in a row than the downloader allows without
        // progress (two here), so it completes only if the bytes of each broken body are kept, and resumes after them.
        aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, Times: 4, AfterBytes: 200 * 1024));
        var servedBefore = aws.Server.Counters.ObjectBytesServed;
        using var factory = aws.CreateFactory(o => o.DownloadMaxAttempts = 2);
        var destination = Path.Combine(aws.SpoolDirectory, "short-reads.csv.gz");

        var result = await new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("short-reads"), Bucket, "short/reads.csv.gz", destination);

        Assert.Equal(0, aws.Server.Faults.Pending);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        Assert.True(result.Requests >= 5, $"expected at least 5 GETs (4 broken), saw {result.Requests}");
        Assert.Equal(content.Length, aws.Server.Counters.ObjectBytesServed - servedBefore);
        File.Delete(destination);
        File.Delete(destination + ".json");
    }

    [Fact]
    public async Task DownloadAsync_ContentNotMatchingTheMd5ETag_TransientAndTheSpoolIsDiscarded()
    {
        var (_, otherMd5) = await PutUnderTheMd5OfOtherBytesAsync("md5/mismatch.csv");
        using var factory = aws.CreateFactory(o => o.DownloadRangeBytes = 1024 * 1024);
        var destination = Path.Combine(aws.SpoolDirectory, "md5-mismatch.csv");

        var ex = await Assert.ThrowsAsync<CurException>(() =>
            new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("md5"), Bucket, "md5/mismatch.csv", destination));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains($"does not match ETag \"{otherMd5}\"", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".part"));
        Assert.False(File.Exists(destination + ".part.json"));
    }

    [Theory]
    [InlineData("kms/report.csv")]
    [InlineData("/kms/leading-slash.csv")]
    public async Task DownloadAsync_AnSseKmsObjectWhoseETagIsNotItsMd5_Downloads(string key)
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 7);
        var stored = aws.Server.Objects.PutKmsEncryptedObject(Bucket, key, content);
        Assert.Matches("^\"[0-9a-f]{32}\"$", stored.ETag);
        using var factory = aws.CreateFactory(o => o.DownloadRangeBytes = 1024 * 1024);
        var destination = Path.Combine(aws.SpoolDirectory, "kms-" + Path.GetFileName(key));

        await new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("kms"), Bucket, key, destination);

        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        File.Delete(destination);
        File.Delete(destination + ".json");
    }

    /// <summary>Serves random bytes under the ETag of other bytes: what a corruption in transit looks like.</summary>
    private async Task<(byte[] Content, string ETagMd5)> PutUnderTheMd5OfOtherBytesAsync(string key)
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var source = Path.Combine(aws.SpoolDirectory, "md5-source-" + Path.GetFileName(key));
        await File.WriteAllBytesAsync(source, content);
#pragma warning disable CA5351 // S3's ETag of a single-part object is an MD5 digest.
        var otherMd5 = Convert.ToHexStringLower(MD5.HashData(content.AsSpan(1)));
#pragma warning restore CA5351
        await aws.Server.Objects.PutObjectFromFileAsync(Bucket, key, source, $"\"{otherMd5}\"");
        return (content, otherMd5);
    }

    [Theory]
    [InlineData("md5/mismatch.csv.gz")]
    [InlineData("md5/mismatch.csv.zip")]
    public async Task DownloadAsync_ArchiveNotMatchingTheMd5ETag_IsLeftToItsOwnCrcAndTheMd5IsCheckedOnRequest(string key)
    {
        var (content, _) = await PutUnderTheMd5OfOtherBytesAsync(key);
        using var factory = aws.CreateFactory(o => o.DownloadRangeBytes = 1024 * 1024);
        var destination = Path.Combine(aws.SpoolDirectory, "md5-archive" + Path.GetExtension(key));

        // The parse checks an archive's CRC-32 over every inflated byte; the download does not hash it a second time.
        var result = await new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("md5-archive"), Bucket, key, destination);
        Assert.True(ResumableDownloader.ContentCheckedByFormat(key));
        Assert.Equal(content, await File.ReadAllBytesAsync(result.Path));

        // Asked (after a parse found the file malformed), the spool is compared with the ETag's MD5 and found to differ.
        Assert.True(await ResumableDownloader.SpoolDiffersFromObjectAsync(destination, CancellationToken.None));
        ResumableDownloader.DiscardSpool(destination);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".json"));
        Assert.False(await ResumableDownloader.SpoolDiffersFromObjectAsync(destination, CancellationToken.None));
    }

    [Fact]
    public async Task SpoolDiffersFromObjectAsync_MatchingBytesOrAMultipartETag_DoNotDiffer()
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 5);
        aws.Server.Objects.PutObject(Bucket, "md5/intact.csv.gz", content);
        var source = Path.Combine(aws.SpoolDirectory, "md5-multipart-source.bin");
        await File.WriteAllBytesAsync(source, content);
        await aws.Server.Objects.PutObjectFromFileAsync(Bucket, "md5/multipart.csv.gz", source, "\"0123456789abcdef0123456789abcdef-3\"");
        using var factory = aws.CreateFactory(o => o.DownloadRangeBytes = 1024 * 1024);
        var role = LocalAwsFixture.Role("md5-intact");
        var intact = Path.Combine(aws.SpoolDirectory, "md5-intact.csv.gz");
        var multipart = Path.Combine(aws.SpoolDirectory, "md5-multipart.csv.gz");
        await new ResumableDownloader(factory).DownloadAsync(role, Bucket, "md5/intact.csv.gz", intact);
        await new ResumableDownloader(factory).DownloadAsync(role, Bucket, "md5/multipart.csv.gz", multipart);

        Assert.False(await ResumableDownloader.SpoolDiffersFromObjectAsync(intact, CancellationToken.None));
        // A multipart ETag is no content MD5: there is nothing to compare with, so the bytes stand.
        await using (var file = new FileStream(multipart, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 10;
            file.WriteByte(0x42);
        }

        Assert.False(await ResumableDownloader.SpoolDiffersFromObjectAsync(multipart, CancellationToken.None));
        await using (var file = new FileStream(intact, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 10;
            var original = file.ReadByte();
            file.Position = 10;
            file.WriteByte((byte)(original ^ 0xFF));
        }

        Assert.True(await ResumableDownloader.SpoolDiffersFromObjectAsync(intact, CancellationToken.None));
        ResumableDownloader.DiscardSpool(intact);
        ResumableDownloader.DiscardSpool(multipart);
    }

    [Fact]
    public async Task DownloadAsync_ResumedOntoACorruptedPart_TheMd5CoversTheBytesAlreadyOnDisk()
    {
        var (content, factory, role, destination) = await InterruptedDownloadAsync("md5/resumed.csv", "md5-resumed.csv");
        using var disposeFactory = factory;

        // A byte of the part on disk changes between the attempts (a disk error, say): only a hash that covers the
        // resumed prefix, not just the bytes of the second attempt, can notice.
        await using (var part = new FileStream(destination + ".part", FileMode.Open, FileAccess.ReadWrite))
        {
            part.Position = 1000;
            var original = part.ReadByte();
            part.Position = 1000;
            part.WriteByte((byte)(original ^ 0xFF));
        }

        var ex = await Assert.ThrowsAsync<CurException>(() =>
            new ResumableDownloader(factory).DownloadAsync(role, Bucket, "md5/resumed.csv", destination));
        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains("does not match ETag", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination + ".part"));

        // The next attempt starts over and gets the object intact.
        var result = await new ResumableDownloader(factory).DownloadAsync(role, Bucket, "md5/resumed.csv", destination);
        Assert.Equal(0, result.ResumedFromBytes);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        File.Delete(destination);
        File.Delete(destination + ".json");
    }

    [Fact]
    public async Task DownloadAsync_CompleteFileFromAnEarlierBoot_IsCheckedAgainstTheMd5AndFetchedAgainOnlyWhenDamaged()
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        aws.Server.Objects.PutObject(Bucket, "boot/complete.csv.zip", content);
        using var factory = aws.CreateFactory();
        var role = LocalAwsFixture.Role("boot");
        var destination = Path.Combine(aws.SpoolDirectory, "boot-complete.csv.zip");
        var downloader = new ResumableDownloader(factory);
        await downloader.DownloadAsync(role, Bucket, "boot/complete.csv.zip", destination);
        Assert.True(ResumableDownloader.IsTrustedSpoolFile(destination));

        // The host went down and came back: the file is intact, which only its MD5 can tell. Nothing is fetched again.
        MarkWrittenInAnEarlierBoot(destination + ".json");
        Assert.False(ResumableDownloader.IsTrustedSpoolFile(destination));
        var served = aws.Server.Counters.ObjectBytesServed;
        var checkedAgain = await downloader.DownloadAsync(role, Bucket, "boot/complete.csv.zip", destination);
        Assert.True(checkedAgain.AlreadyComplete);
        Assert.Equal(0, checkedAgain.BytesTransferred);
        Assert.Equal(served, aws.Server.Counters.ObjectBytesServed);
        Assert.True(ResumableDownloader.IsTrustedSpoolFile(destination));

        // This time a page the kernel had not written back came back as zeros, with the file's length unchanged.
        MarkWrittenInAnEarlierBoot(destination + ".json");
        await using (var file = new FileStream(destination, FileMode.Open, FileAccess.Write))
        {
            file.Position = 1024 * 1024;
            file.Write(new byte[4096]);
        }

        var fetchedAgain = await downloader.DownloadAsync(role, Bucket, "boot/complete.csv.zip", destination);
        Assert.False(fetchedAgain.AlreadyComplete);
        Assert.Equal(content.Length, fetchedAgain.BytesTransferred);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
        Assert.True(ResumableDownloader.IsTrustedSpoolFile(destination));
    }

    [Fact]
    public async Task DownloadAsync_CompleteFileFromAnEarlierBootWithAMultipartETag_IsFetchedAgain()
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        var source = Path.Combine(aws.SpoolDirectory, "multipart-source.bin");
        await File.WriteAllBytesAsync(source, content);
        // A multipart upload's ETag is not the content's MD5: nothing on disk can be checked against it.
        await aws.Server.Objects.PutObjectFromFileAsync(Bucket, "boot/multipart.csv.zip", source, "\"0123456789abcdef0123456789abcdef-2\"");
        using var factory = aws.CreateFactory();
        var role = LocalAwsFixture.Role("boot-multipart");
        var destination = Path.Combine(aws.SpoolDirectory, "boot-multipart.csv.zip");
        var downloader = new ResumableDownloader(factory);
        await downloader.DownloadAsync(role, Bucket, "boot/multipart.csv.zip", destination);

        var sameBoot = await downloader.DownloadAsync(role, Bucket, "boot/multipart.csv.zip", destination);
        Assert.True(sameBoot.AlreadyComplete);

        MarkWrittenInAnEarlierBoot(destination + ".json");
        var afterRestart = await downloader.DownloadAsync(role, Bucket, "boot/multipart.csv.zip", destination);
        Assert.False(afterRestart.AlreadyComplete);
        Assert.Equal(content.Length, afterRestart.BytesTransferred);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
    }

    [Fact]
    public async Task DownloadAsync_PartFromAnEarlierBoot_StartsOver()
    {
        var (content, factory, role, destination) = await InterruptedDownloadAsync("boot/part.csv.zip", "boot-part.csv.zip");
        using var disposeFactory = factory;
        Assert.True(new FileInfo(destination + ".part").Length >= 2 * 1024 * 1024);
        MarkWrittenInAnEarlierBoot(destination + ".part.json");

        var result = await new ResumableDownloader(factory).DownloadAsync(role, Bucket, "boot/part.csv.zip", destination);

        Assert.Equal(0, result.ResumedFromBytes);
        Assert.Equal(content.Length, result.BytesTransferred);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination));
    }

    /// <summary>A 4 MiB object whose download (1 MiB ranges) was cancelled after 2 MiB, leaving a part on disk.</summary>
    private async Task<(byte[] Content, AwsClientFactory Factory, CustomerRole Role, string Destination)> InterruptedDownloadAsync(string key, string spoolName)
    {
        aws.Server.CreateBucket(Bucket);
        var content = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        aws.Server.Objects.PutObject(Bucket, key, content);
        var factory = aws.CreateFactory(o => o.DownloadRangeBytes = 1024 * 1024);
        var role = LocalAwsFixture.Role(spoolName);
        var destination = Path.Combine(aws.SpoolDirectory, spoolName);
        using (var stop = new CancellationTokenSource())
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ResumableDownloader(factory)
                .DownloadAsync(role, Bucket, key, destination, new CancelAt(2 * 1024 * 1024, stop), stop.Token));
        }

        return (content, factory, role, destination);
    }

    /// <summary>What a spool record looks like after the host restarted: its boot id is not the current one.</summary>
    internal static void MarkWrittenInAnEarlierBoot(string sidecarPath)
    {
        var record = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(sidecarPath))!.AsObject();
        Assert.Equal(HostBoot.Id, (string?)record["BootId"]);
        record["BootId"] = "an-earlier-boot";
        File.WriteAllText(sidecarPath, record.ToJsonString());
    }

    [Fact]
    public async Task DownloadAsync_NotEnoughFreeDisk_RefusesToStart()
    {
        aws.Server.CreateBucket(Bucket);
        aws.Server.Objects.PutObject(Bucket, "small/file.csv", new byte[1000]);
        using var factory = aws.CreateFactory(o => o.DownloadFreeSpaceMarginBytes = long.MaxValue / 2);
        var getsBefore = aws.Server.Counters.Requests(LocalAwsOperations.GetObject);

        var ex = await Assert.ThrowsAsync<CurException>(() =>
            new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("disk"), Bucket, "small/file.csv", Path.Combine(aws.SpoolDirectory, "disk.csv")));

        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.Contains("free disk", ex.Message, StringComparison.Ordinal);
        Assert.Equal(getsBefore, aws.Server.Counters.Requests(LocalAwsOperations.GetObject));
    }

    [Fact]
    public async Task DownloadAsync_ObjectReplacedMidDownload_TransientAndNextAttemptGetsTheNewObject()
    {
        aws.Server.CreateBucket(Bucket);
        const string key = "replaced/file.csv";
        var original = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        var replacement = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        aws.Server.Objects.PutObject(Bucket, key, original);
        aws.Server.Faults.Add(new InjectedFault(FaultKind.ResetAfterBytes, LocalAwsOperations.GetObject, AfterBytes: 1024 * 1024));
        using var factory = aws.CreateFactory();
        var destination = Path.Combine(aws.SpoolDirectory, "replaced.csv");
        var downloader = new ResumableDownloader(factory);
        var replaced = false;
        var progress = new SyncProgress(p =>
        {
            if (!replaced && p.BytesOnDisk >= 1024 * 1024)
            {
                replaced = true;
                aws.Server.Objects.PutObject(Bucket, key, replacement);
            }
        });

        var ex = await Assert.ThrowsAsync<CurException>(() => downloader.DownloadAsync(LocalAwsFixture.Role("replace"), Bucket, key, destination, progress));
        Assert.Equal(CurErrorCodes.Transient, ex.Code);
        Assert.True(aws.Server.Counters.Errors("PreconditionFailed") >= 1);

        var result = await downloader.DownloadAsync(LocalAwsFixture.Role("replace"), Bucket, key, destination);
        Assert.Equal(replacement, await File.ReadAllBytesAsync(destination));
        Assert.Equal(0, result.ResumedFromBytes);
    }

    [Fact]
    public async Task DownloadAsync_MissingObject_ReportNotFound()
    {
        aws.Server.CreateBucket(Bucket);
        using var factory = aws.CreateFactory();

        var ex = await Assert.ThrowsAsync<CurException>(() =>
            new ResumableDownloader(factory).DownloadAsync(LocalAwsFixture.Role("missing"), Bucket, "nope.csv", Path.Combine(aws.SpoolDirectory, "nope.csv")));

        Assert.Equal(CurErrorCodes.ReportNotFound, ex.Code);
    }

    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
