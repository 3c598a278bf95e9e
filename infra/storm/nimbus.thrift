// The part of Storm's storm.thrift that the cluster's health probe reads: Nimbus' cluster summary.
namespace java org.apache.storm.generated

struct SupervisorSummary {
  1: optional string host;
  2: optional i32 uptime_secs;
  3: optional i32 num_workers;
  4: optional i32 num_used_workers;
  5: optional string supervisor_id;
}

struct TopologySummary {
  1: optional string id;
  2: optional string name;
  3: optional i32 num_tasks;
  4: optional i32 num_executors;
  5: optional i32 num_workers;
  6: optional i32 uptime_secs;
  7: optional string status;
}

struct NimbusSummary {
  1: optional string host;
  2: optional i32 port;
  3: optional i32 uptime_secs;
  4: optional bool isLeader;
  5: optional string version;
}

struct ClusterSummary {
  1: optional list<SupervisorSummary> supervisors;
  3: optional list<TopologySummary> topologies;
  4: optional list<NimbusSummary> nimbuses;
}

exception AuthorizationException {
  1: required string msg;
}

service Nimbus {
  ClusterSummary getClusterInfo() throws (1: AuthorizationException aze);
}
