namespace CurWorkflows.Workflows;

/// <summary>Activity type names: part of the workflow histories, so they never change once released.</summary>
public static class ActivityNames
{
    public const string RecordCollectionRun = "RecordCollectionRun";
    public const string BeginCollectionRun = "BeginCollectionRun";
    public const string ValidateAccess = "ValidateAccess";
    public const string PlanCollection = "PlanCollection";
    public const string GetWorkerTaskQueue = "GetWorkerTaskQueue";
    public const string ConfirmWorkerAlive = "ConfirmWorkerAlive";
    public const string DownloadReportFile = "DownloadReportFile";
    public const string AggregateReportFile = "AggregateReportFile";
    public const string StagePeriod = "StagePeriod";
    public const string PersistPeriod = "PersistPeriod";
}
