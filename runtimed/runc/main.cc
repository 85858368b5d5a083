#include "runtimed/runc/runc.h"

int main(int argc, char** argv) { return berth::runc::Main(argc, argv); }
