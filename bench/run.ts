// `npm run bench`: every benchmark beside its baseline, as one table. Filled in by the ROS and
// token issues.
console.log("no benchmarks yet");
