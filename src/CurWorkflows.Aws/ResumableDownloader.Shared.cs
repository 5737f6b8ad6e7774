using Microsoft.Win32.SafeHandles;

namespace CurWorkflows.Aws;

/// <summary>The part file a running download writes, and the size and ETag of its object.</summary>
internal sealed record ArrivingFile(string PartPath, long Size, string ETag);

/// <summary>
/// Downloads shared within the process: one transfer per spool file, joined by every caller that asks for the same file
/// (the download activity, and the aggregation that reads the file while it arrives), and stopped when the last caller
/// has gone.
/// </summary>
public sealed partial class ResumableDownloader
{
    private readonly Dictionary<string, SharedDownload> _running = new(StringComparer.Ordinal);

    /// <summary>
    /// Joins (or starts) the download of the object to <paramref name="destinationPath"/>, to read the file while it
    /// arrives (<see cref="FollowedDownload.OpenRead"/>). Dispose the result when done with it.
    /// </summary>
    public FollowedDownload Follow(
        CustomerRole role, string bucket, string key, string destinationPath,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        new(Join(role, bucket, key, destinationPath, progress), $"s3://{bucket}/{key}", cancellationToken);

    private DownloadJoin Join(CustomerRole role, string bucket, string key, string destinationPath, IProgress<DownloadProgress>? progress)
    {
        var path = Path.GetFullPath(destinationPath);
        lock (_running)
        {
            _running.TryGetValue(path, out var running);
            if (running is { Completion.IsCompleted: false })
            {
                if (running.Bucket != bucket || running.Key != key)
                {
                    throw new InvalidOperationException($"{path} is being downloaded from s3://{running.Bucket}/{running.Key}, not s3://{bucket}/{key}");
                }

                if (running.TryEnter(progress))
                {
                    return new DownloadJoin(running, progress, startedHere: false);
                }
            }

            // A transfer being stopped may still write the file: the new one starts when it has ended.
            var previous = running?.Completion;
            var shared = new SharedDownload(bucket, key);
            shared.Completion = Task.Run(async () =>
            {
                if (previous is not null)
                {
                    await previous.ContinueWith(_ => { }, TaskScheduler.Default);
                }

                return await TransferAsync(role, bucket, key, path, shared, shared.StopToken);
            });
            shared.Completion.ContinueWith(
                _ =>
                {
                    lock (_running)
                    {
                        if (_running.TryGetValue(path, out var current) && ReferenceEquals(current, shared))
                        {
                            _running.Remove(path);
                        }
                    }

                    shared.Ended();
                },
                TaskScheduler.Default);
            _running[path] = shared;
            shared.TryEnter(progress);
            return new DownloadJoin(shared, progress, startedHere: true);
        }
    }

    /// <summary>One transfer and the callers waiting for it.</summary>
    // Its CancellationTokenSource has no timer, so nothing to release; a caller leaving late may still cancel it.
#pragma warning disable CA1001
    internal sealed class SharedDownload(string bucket, string key)
    {
        private const long ReaderWakeUpBytes = 1 << 20;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<IProgress<DownloadProgress>> _observers = [];
        private readonly object _gate = new();
        private readonly TaskCompletionSource<ArrivingFile?> _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _callers;
        private bool _stopping;
        private long _version;
        private long _reportedToReaders;

        public string Bucket { get; } = bucket;

        public string Key { get; } = key;

        /// <summary>The transfer; set by <see cref="Join"/> right after construction, under its lock.</summary>
        public Task<DownloadResult> Completion { get; set; } = null!;

        /// <summary>The part file once the transfer has opened it; null when the transfer ended without writing one.</summary>
        public Task<ArrivingFile?> OpenedFile => _opened.Task;

        public CancellationToken StopToken => _stop.Token;

        /// <summary>Adds a caller; false once the last caller has gone and the transfer is being stopped.</summary>
        public bool TryEnter(IProgress<DownloadProgress>? progress)
        {
            lock (_gate)
            {
                if (_stopping)
                {
                    return false;
                }

                _callers++;
                if (progress is not null)
                {
                    _observers.Add(progress);
                }

                return true;
            }
        }

        /// <summary>A caller has gone; the transfer stops when it was the last one and the transfer has not ended.</summary>
        public void Leave(IProgress<DownloadProgress>? progress)
        {
            bool stop;
            lock (_gate)
            {
                if (progress is not null)
                {
                    _observers.Remove(progress);
                }

                // Decided under the lock, so that no caller joins a transfer that is about to be stopped.
                stop = --_callers == 0 && !Completion.IsCompleted;
                _stopping |= stop;
            }

            if (stop)
            {
                _stop.Cancel();
            }
        }

        public void Opened(ArrivingFile file) => _opened.TrySetResult(file);

        public void Report(DownloadProgress progress)
        {
            IProgress<DownloadProgress>[] observers;
            lock (_gate)
            {
                observers = [.. _observers];
                // Readers go by the file's length, which the writer's 1 MiB buffer moves in steps of about that much:
                // waking them for every chunk received would cost more than it gives.
                if (progress.BytesOnDisk - _reportedToReaders >= ReaderWakeUpBytes || progress.BytesOnDisk == progress.Size)
                {
                    _reportedToReaders = progress.BytesOnDisk;
                    _version++;
                    Monitor.PulseAll(_gate);
                }
            }

            foreach (var observer in observers)
            {
                observer.Report(progress);
            }
        }

        public void Ended()
        {
            _opened.TrySetResult(null);
            lock (_gate)
            {
                _version++;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Waits until more bytes were reported or the transfer ended, for at most a short while (a poll's
        /// interval, so that cancellation and the file's own length are looked at again).</summary>
        public void WaitForMore(ref long seenVersion, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_gate)
            {
                if (_version == seenVersion && !Completion.IsCompleted)
                {
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(50));
                }

                seenVersion = _version;
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

#pragma warning restore CA1001

    /// <summary>One caller's part in a shared transfer.</summary>
    internal sealed class DownloadJoin(SharedDownload shared, IProgress<DownloadProgress>? progress, bool startedHere)
    {
        private int _left;

        public SharedDownload Shared { get; } = shared;

        public bool StartedHere { get; } = startedHere;

        public async Task<DownloadResult> WaitAsync(CancellationToken cancellationToken)
        {
            try
            {
                var result = await Shared.Completion.WaitAsync(cancellationToken);
                return StartedHere ? result : result with { BytesTransferred = 0, Requests = 0, Joined = true };
            }
            finally
            {
                Leave();
            }
        }

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                Shared.Leave(progress);
            }
        }
    }
}

/// <summary>
/// A download joined to read its file while it arrives. <see cref="OpenRead"/> gives a seekable stream of the whole
/// object whose reads wait for bytes not written yet; <see cref="Completion"/> ends with the download.
/// </summary>
public sealed class FollowedDownload : IDisposable
{
    private readonly ResumableDownloader.DownloadJoin _join;
    private readonly string _name;
    private readonly CancellationToken _cancellationToken;

    internal FollowedDownload(ResumableDownloader.DownloadJoin join, string name, CancellationToken cancellationToken)
    {
        _join = join;
        _name = name;
        _cancellationToken = cancellationToken;
        Completion = join.WaitAsync(cancellationToken);
    }

    /// <summary>The download's result; bytes moved are counted only when this call started the transfer.</summary>
    public Task<DownloadResult> Completion { get; }

    /// <summary>Whether the transfer has ended without the complete file.</summary>
    public bool Failed => _join.Shared.Completion is { IsCompleted: true, IsCompletedSuccessfully: false };

    /// <summary>The object's ETag, once the transfer has looked the object up; throws the download's error when it fails
    /// before that.</summary>
    public async Task<string> ETagAsync()
    {
        var opened = await _join.Shared.OpenedFile.WaitAsync(_cancellationToken);
        return opened?.ETag ?? (await Completion).ETag;
    }

    /// <summary>
    /// Opens the file from its first byte: the complete file once the download has ended, else the part being written.
    /// Blocks until the transfer has opened its part file (or ended).
    /// </summary>
    public Stream OpenRead()
    {
        var shared = _join.Shared;
        shared.OpenedFile.Wait(_cancellationToken);
        var opened = shared.OpenedFile.Result;
        if (shared.Completion.IsCompleted)
        {
            return OpenComplete(shared);
        }

        if (opened is null)
        {
            throw new IOException($"the download of {_name} ended without a file to read");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(opened.PartPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            // Completed (the part became the file) between the look at the transfer and the open.
            shared.Completion.Wait(_cancellationToken);
            return OpenComplete(shared);
        }

        return new ArrivingFileStream(handle, opened.Size, shared, _name, _cancellationToken);
    }

    private FileStream OpenComplete(ResumableDownloader.SharedDownload shared) =>
        shared.Completion.IsCompletedSuccessfully
            ? new FileStream(shared.Completion.Result.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan)
            : throw new IOException($"the download of {_name} failed", shared.Completion.Exception?.InnerException);

    public void Dispose() => _join.Leave();

    /// <summary>
    /// The file as it is being written: its length is the object's size, and a read past the bytes written so far waits
    /// for them (the file's own length, not the progress reports, says what can be read: written bytes may still sit in
    /// the writer's buffer).
    /// </summary>
    private sealed class ArrivingFileStream(
        SafeFileHandle handle, long size, ResumableDownloader.SharedDownload shared, string name, CancellationToken cancellationToken) : Stream
    {
        private long _position;
        private long _available;
        private long _seenVersion = -1;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => size;

        public override long Position { get => _position; set => _position = value; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (_position >= size || buffer.IsEmpty)
                {
                    return 0;
                }

                // The length is asked for again only when the bytes known to be there have been read.
                if (_position >= _available)
                {
                    _available = RandomAccess.GetLength(handle);
                }

                if (_position < _available)
                {
                    var read = RandomAccess.Read(handle, buffer[..(int)Math.Min(buffer.Length, _available - _position)], _position);
                    _position += read;
                    return read;
                }

                if (shared.Completion.IsCompleted)
                {
                    // The last bytes may have reached the file after the length above was read.
                    _available = RandomAccess.GetLength(handle);
                    if (_available > _position)
                    {
                        continue;
                    }

                    throw new IOException(
                        shared.Completion.IsCompletedSuccessfully
                            ? $"the download of {name} ended with {_available} bytes in the file being read, not {size}"
                            : $"the download of {name} stopped at byte {_available} of {size}",
                        shared.Completion.Exception?.InnerException);
                }

                shared.WaitForMore(ref _seenVersion, cancellationToken);
            }
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => size + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                handle.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
